/**
 * notify.send and email.send, called directly on a real database (PostgreSQL and
 * PGlite) against fake Slack and Gmail servers on loopback; then once through a
 * real runtime, with a gated machine asking for notify.send.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assign, setup, type AnyEventObject } from 'xstate';
import { z } from 'zod';
import { defineEntity, gate, GateRetry, runtimeActions, type GateContext, type GateMachineEvent, type Stamped } from '../../machines/index.ts';
import { ConfigError, ManualClock, TerminalEffectError, type EffectHandler, type EffectRequest, type Logger, type Runtime } from '../../runtime/index.ts';
import {
  emailSendEffect,
  encodeHeaderText,
  loadNotifyConfig,
  Notifications,
  notifyEffects,
  notifySendEffect,
  quotedPrintable,
  slackMessage,
  NotifyConfig,
  type SentEmailRow,
} from '../../runtime/notify/index.ts';
import { migrate, openDatabase, type Database } from '../../runtime/store/index.ts';
import { backends, openTestPostgres, type OpenedBackend } from '../support/db.ts';
import { decodeQuotedPrintable, decodeWords, startFakeGmail, type FakeGmail } from '../support/fake-gmail.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { eventually, makeEnv, type TestEnv } from '../support/runtime.ts';

/** A logger whose lines the test reads. */
function capturedLog(): { log: Logger; lines: { level: number; msg: string; [k: string]: unknown }[] } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

let n = 0;
/** An effect request as the executor makes it; a fresh effect id unless one is given. */
function request(tenant: string, actionType: string, params: Record<string, unknown>, o: Partial<EffectRequest> = {}): EffectRequest {
  return {
    id: `${tenant}/ops/O-1#${++n}#x0`,
    tenant,
    actor: { tenant, kind: 'ops', key: 'O-1' },
    actionType,
    params,
    attempt: 1,
    signal: new AbortController().signal,
    ...o,
  };
}

const brief = { kind: 'brief', channel: 'leadership', severity: 'info', title: 'Morning brief', body: 'Pipeline: 3 deals <closing> & 1 at risk', related: 'run/1' };
const alert = (topic: string, title = 'Email sending failed') => ({ kind: 'alert', channel: 'builds', severity: 'urgent', title, body: 'Gmail refused 3 sends.', topic });

/** Awaits a promise that must reject, and returns the error. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a rejection').toBeInstanceOf(Error);
  return err as Error;
}

describe.each(backends)('notify and email effects on $name', ({ open }) => {
  let opened: OpenedBackend;
  let db: Database;
  let slack: FakeSlack;
  let gmail: FakeGmail;
  let clock: ManualClock;
  let tenant: string;
  const silent = pino({ level: 'silent' });

  beforeAll(async () => {
    opened = await open();
    db = opened.db;
    await migrate(db);
    slack = await startFakeSlack();
    gmail = await startFakeGmail();
  });
  afterAll(async () => {
    await slack?.close();
    await gmail?.close();
    await opened?.cleanup();
  });
  beforeEach(() => {
    slack.posts.length = 0;
    slack.script();
    gmail.sent.length = 0;
    gmail.requests.length = 0;
    gmail.script();
    clock = new ManualClock(Date.parse('2026-01-05T09:00:00Z'));
    tenant = `t${randomBytes(4).toString('hex')}`;
  });

  const config = (o: Partial<z.input<typeof NotifyConfig>> = {}): NotifyConfig => loadNotifyConfig({}, o);
  const notifier = (c: NotifyConfig, log: Logger = silent) => notifySendEffect(db, clock, c, log);
  const mailer = (c: NotifyConfig, log: Logger = silent) => emailSendEffect(db, clock, c, log);
  const records = () => new Notifications(db, clock, {});
  const gmailConfig = (o: Partial<z.input<typeof NotifyConfig>> = {}) =>
    config({ gmailAccessToken: gmail.token, gmailBaseUrl: gmail.baseUrl, mailFrom: 'Acme Ops <ops@acme.example>', ...o });

  describe('notify.send', () => {
    it('posts Slack webhook JSON (header with severity and title, escaped body, channel) and records it delivered', async () => {
      const h = notifier(config({ webhookUrl: slack.url }));
      const req = request(tenant, 'notify.send', brief);
      expect(await h.run(req)).toEqual({ notificationId: req.id, delivery: 'delivered' });

      expect(slack.posts).toHaveLength(1);
      const post = slack.posts[0]!;
      expect(post.headers['content-type']).toContain('application/json');
      expect(post.json).toEqual({
        text: ':information_source: Info: Morning brief',
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: ':information_source: Info: Morning brief', emoji: true } },
          { type: 'section', text: { type: 'mrkdwn', text: 'Pipeline: 3 deals &lt;closing&gt; &amp; 1 at risk' } },
          { type: 'context', elements: [{ type: 'mrkdwn', text: '#leadership · brief · re run/1' }] },
        ],
      });

      expect(await records().get(tenant, req.id)).toMatchObject({
        kind: 'brief', channel: 'leadership', severity: 'info', title: 'Morning brief', body: brief.body, related: 'run/1', actor: 'ops/O-1',
        status: 'delivered', attempts: 1, error: null, target_host: new URL(slack.url).host,
        created_at: new Date('2026-01-05T09:00:00Z'), delivered_at: new Date('2026-01-05T09:00:00Z'),
      });
    });

    it("a tenant's webhook wins over CADRE_NOTIFY_WEBHOOK_URL; without one the environment's is used", async () => {
      const other = await startFakeSlack();
      try {
        const h = notifier(config({ webhookUrl: other.url }));
        await h.run(request(tenant, 'notify.send', brief));
        expect([slack.posts.length, other.posts.length]).toEqual([0, 1]);
        await records().setWebhook(tenant, slack.url, 'test');
        await h.run(request(tenant, 'notify.send', { ...brief, severity: 'warning', title: 'Second' }));
        expect([slack.posts.length, other.posts.length]).toEqual([1, 1]);
        expect(slack.posts[0]!.json.blocks[0].text.text).toBe(':warning: Warning: Second');
      } finally {
        await other.close();
      }
    });

    it('throttles alerts per topic within CADRE_ALERT_THROTTLE_MS, and posts again after the window', async () => {
      const h = notifier(config({ webhookUrl: slack.url, alertThrottleMs: 3600_000 }));
      const first = request(tenant, 'notify.send', alert('task.failed:email.send'));
      expect(await h.run(first)).toMatchObject({ delivery: 'delivered' });
      clock.advance(10 * 60_000);
      const second = request(tenant, 'notify.send', alert('task.failed:email.send', 'Again'));
      expect(await h.run(second)).toEqual({ notificationId: second.id, delivery: 'throttled' });
      expect(await h.run(request(tenant, 'notify.send', alert('task.failed:script.run')))).toMatchObject({ delivery: 'delivered' });
      // Only alerts are throttled.
      expect(await h.run(request(tenant, 'notify.send', { ...brief, topic: 'task.failed:email.send' }))).toMatchObject({ delivery: 'delivered' });
      // Another tenant's alerts of the topic are its own.
      expect(await h.run(request(`${tenant}x`, 'notify.send', alert('task.failed:email.send')))).toMatchObject({ delivery: 'delivered' });
      expect(slack.posts).toHaveLength(4);

      clock.advance(50 * 60_000 - 1); // a millisecond short of an hour after the first post: still inside
      expect(await h.run(request(tenant, 'notify.send', alert('task.failed:email.send')))).toMatchObject({ delivery: 'throttled' });
      clock.advance(1);
      const later = request(tenant, 'notify.send', alert('task.failed:email.send', 'Later'));
      expect(await h.run(later)).toMatchObject({ delivery: 'delivered' });
      expect(slack.posts.map((p) => p.json.blocks[0].text.text)).toEqual([
        ':rotating_light: Urgent: Email sending failed',
        ':rotating_light: Urgent: Email sending failed',
        ':information_source: Info: Morning brief',
        ':rotating_light: Urgent: Email sending failed',
        ':rotating_light: Urgent: Later',
      ]);
      expect(await records().get(tenant, second.id)).toMatchObject({ status: 'throttled', attempts: 1 });
      const listed = await records().list(tenant, { kind: 'alert', status: 'throttled' });
      expect(listed.items.map((r) => r.id)).toHaveLength(2);
    });

    it('a burst of alerts of one topic posts once', async () => {
      const h = notifier(config({ webhookUrl: slack.url }));
      slack.always({ delayMs: 50 });
      const results = await Promise.all(Array.from({ length: 6 }, () => h.run(request(tenant, 'notify.send', alert('burst')))));
      slack.always(null);
      expect(results.map((r) => (r as { delivery: string }).delivery).sort()).toEqual(['delivered', 'throttled', 'throttled', 'throttled', 'throttled', 'throttled']);
      expect(slack.posts).toHaveLength(1);
    });

    it('without a webhook the notification is recorded as not_configured, logged at info, and still readable', async () => {
      const { log, lines } = capturedLog();
      const req = request(tenant, 'notify.send', brief);
      expect(await notifier(config(), log).run(req)).toEqual({ notificationId: req.id, delivery: 'not_configured' });
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 30, msg: 'notification recorded; no webhook configured (set CADRE_NOTIFY_WEBHOOK_URL or PUT /v1/notifications/webhook)', notification: req.id }),
      );
      expect(await records().get(tenant, req.id)).toMatchObject({ status: 'not_configured', title: 'Morning brief', attempts: 1 });
      expect(await records().webhook(tenant)).toEqual({ configured: false, source: null, host: null, setBy: null, updatedAt: null });
    });

    it('5xx and 429 are retryable (the retry delivers, once); 4xx is terminal; errors name the host, never the secret path', async () => {
      const h = notifier(config({ webhookUrl: slack.url }));
      slack.script({ status: 500, body: 'internal_error' });
      const req = request(tenant, 'notify.send', brief);
      const e500 = await rejection(h.run(req));
      expect(e500).not.toBeInstanceOf(TerminalEffectError);
      expect(e500.message).toBe(`the notification webhook (${new URL(slack.url).host}) answered 500: internal_error`);
      expect(await records().get(tenant, req.id)).toMatchObject({ status: 'failed', error: e500.message, attempts: 1 });
      expect(await h.run({ ...req, attempt: 2 })).toEqual({ notificationId: req.id, delivery: 'delivered' });
      expect(await records().get(tenant, req.id)).toMatchObject({ status: 'delivered', error: null, attempts: 2 });

      slack.script({ status: 429, body: 'rate_limited' });
      expect(await rejection(h.run(request(tenant, 'notify.send', brief)))).not.toBeInstanceOf(TerminalEffectError);

      slack.script({ status: 400, body: 'invalid_payload' });
      const bad = request(tenant, 'notify.send', brief);
      const e400 = await rejection(h.run(bad));
      expect(e400).toBeInstanceOf(TerminalEffectError);
      expect(e400).toMatchObject({ code: 'webhook_refused' });
      expect(e400.message).toContain('answered 400: invalid_payload');
      for (const e of [e500, e400]) expect(e.message).not.toContain('s3cr3t');
      expect(await records().get(tenant, bad.id)).toMatchObject({ status: 'failed' });
      expect(slack.posts).toHaveLength(4);
    });

    it('a webhook that does not answer in time is a retryable timeout; the attempt signal aborts the post too', async () => {
      const h = notifier(config({ webhookUrl: slack.url, webhookTimeoutMs: 200 }));
      slack.script({ delayMs: 3000 });
      const slow = await rejection(h.run(request(tenant, 'notify.send', brief)));
      expect(slow).not.toBeInstanceOf(TerminalEffectError);
      expect(slow.message).toBe(`the notification webhook (${new URL(slack.url).host}) did not answer within 200 ms`);

      const quick = notifier(config({ webhookUrl: slack.url, webhookTimeoutMs: 60_000 }));
      slack.script({ delayMs: 3000 });
      const ac = new AbortController();
      const pending = quick.run(request(tenant, 'notify.send', brief, { signal: ac.signal }));
      setTimeout(() => ac.abort(new Error('the runtime is stopping')), 50);
      expect((await rejection(pending)).message).toBe('the runtime is stopping');
      // The handler's own attempt limit leaves room for the post's.
      expect(h.timeoutMs).toBeGreaterThan(200);
    });

    it('replaying an effect id that was delivered (or throttled) posts nothing and answers the same', async () => {
      const h = notifier(config({ webhookUrl: slack.url }));
      const req = request(tenant, 'notify.send', alert('replay'));
      const first = await h.run(req);
      const again = await h.run({ ...req, attempt: 2 });
      expect(again).toEqual(first);
      const throttled = request(tenant, 'notify.send', alert('replay'));
      expect(await h.run(throttled)).toMatchObject({ delivery: 'throttled' });
      clock.advance(2 * 3600_000); // the window has passed, but this effect was settled as throttled
      expect(await h.run({ ...throttled, attempt: 2 })).toMatchObject({ delivery: 'throttled' });
      expect(slack.posts).toHaveLength(1);
      expect(await records().get(tenant, req.id)).toMatchObject({ attempts: 1 });
    });

    it('invalid params are a terminal error with the zod message, and nothing is recorded', async () => {
      const req = request(tenant, 'notify.send', { kind: 'memo', channel: 'Sales Team', title: '', body: 'x' });
      const err = await rejection(notifier(config({ webhookUrl: slack.url })).run(req));
      expect(err).toBeInstanceOf(TerminalEffectError);
      expect(err).toMatchObject({ code: 'invalid_params' });
      expect(err.message).toMatch(/^invalid notify\.send params: /);
      for (const path of ['kind', 'channel', 'title']) expect(err.message).toContain(`at ${path}`);
      expect(await records().get(tenant, req.id)).toBeUndefined();
      expect(slack.posts).toHaveLength(0);
    });
  });

  describe('email.send', () => {
    const email = {
      to: ['ann@client.example', 'bob@client.example'],
      cc: ['carl@acme.example'],
      replyTo: 'sales@acme.example',
      subject: 'Grüße: your roof quote ✓ (Ref 42)',
      body: `Hallo Ann,\n\nthe quote is €4,200 = fair, trailing space \nand a long line: ${'é'.repeat(30)} ${'word '.repeat(40)}end.\n\nKind regards`,
      related: 'deal/D-1',
    };

    it('sends through Gmail: the raw message has the right headers, an RFC 2047 subject and a quoted-printable UTF-8 body', async () => {
      const h = mailer(gmailConfig());
      const req = request(tenant, 'email.send', email);
      const result = await h.run(req);
      expect(gmail.sent).toHaveLength(1);
      const m = gmail.sent[0]!;
      expect(result).toEqual({ emailId: req.id, delivered: true, transport: 'gmail', providerId: m.id, threadId: m.id });

      expect(m.headers).toMatchObject({
        from: 'Acme Ops <ops@acme.example>',
        to: 'ann@client.example, bob@client.example',
        cc: 'carl@acme.example',
        'reply-to': 'sales@acme.example',
        subject: email.subject,
        date: 'Mon, 05 Jan 2026 09:00:00 +0000',
        'mime-version': '1.0',
        'content-type': 'text/plain; charset=UTF-8',
        'content-transfer-encoding': 'quoted-printable',
      });
      expect(m.headers['message-id']).toMatch(/^<[0-9a-f]{32}@acme\.example>$/);
      expect(m.rawHeaders).toMatch(/^Subject: =\?UTF-8\?B\?/m);
      expect(m.text).toMatch(/^[\x00-\x7f]*$/); // all ASCII on the wire
      expect(m.body).toBe(email.body.replace(/\n/g, '\r\n'));
      for (const l of m.rawBody.split('\r\n')) expect(l.length).toBeLessThanOrEqual(76);
      expect(m.rawBody).toContain('=E2=82=AC4,200 =3D fair, trailing space=20\r\n');

      const [row] = await db.query<SentEmailRow>(`SELECT * FROM sent_emails WHERE tenant = $1 AND id = $2`, [tenant, req.id]);
      expect(row).toMatchObject({
        status: 'sent', transport: 'gmail', provider_id: m.id, thread_id: m.id, to_addresses: email.to, cc_addresses: email.cc, subject: email.subject,
        from_address: 'Acme Ops <ops@acme.example>', related: 'deal/D-1', actor: 'ops/O-1', attempts: 1, sent_at: new Date('2026-01-05T09:00:00Z'),
      });

      // A retry of the same effect (its outcome was lost) sends nothing more.
      expect(await h.run({ ...req, attempt: 2 })).toEqual(result);
      expect(gmail.requests).toHaveLength(1);
    });

    it('without CADRE_GMAIL_ACCESS_TOKEN the email is recorded and logged, not sent (demo mode)', async () => {
      const { log, lines } = capturedLog();
      const req = request(tenant, 'email.send', { to: 'ann@client.example', subject: 'Hello', body: 'About your roof.' });
      expect(await mailer(config(), log).run(req)).toEqual({ emailId: req.id, delivered: false, transport: 'log' });
      expect(lines).toContainEqual(expect.objectContaining({ level: 30, msg: 'email not sent: no mail transport configured (CADRE_GMAIL_ACCESS_TOKEN); recorded', email: req.id }));
      const page = await records().emails(tenant);
      expect(page.items).toEqual([expect.objectContaining({ id: req.id, status: 'logged', transport: 'log', to_addresses: ['ann@client.example'], cc_addresses: [], from_address: null })]);
      expect(gmail.requests).toHaveLength(0);
    });

    it('Gmail 401 (and a 403 refusal) is terminal and says to refresh the token; 429, 5xx and 403 rate limits are retried', async () => {
      const wrong = mailer(gmailConfig({ gmailAccessToken: 'ya29.expired' }));
      const req = request(tenant, 'email.send', email);
      const e401 = await rejection(wrong.run(req));
      expect(e401).toBeInstanceOf(TerminalEffectError);
      expect(e401).toMatchObject({ code: 'gmail_unauthorized' });
      expect(e401.message).toMatch(/^Gmail answered 401 UNAUTHENTICATED \(authError\): Request had invalid authentication credentials/);
      expect(e401.message).toContain('refresh CADRE_GMAIL_ACCESS_TOKEN');
      const [row] = await db.query<SentEmailRow>(`SELECT status, error FROM sent_emails WHERE tenant = $1 AND id = $2`, [tenant, req.id]);
      expect(row).toMatchObject({ status: 'failed', error: e401.message });

      const h = mailer(gmailConfig());
      gmail.script({ status: 403, errorStatus: 'PERMISSION_DENIED', reason: 'insufficientPermissions', message: 'Request had insufficient authentication scopes.' });
      expect(await rejection(h.run(request(tenant, 'email.send', email)))).toMatchObject({ code: 'gmail_unauthorized' });

      gmail.script(
        { status: 429, errorStatus: 'RESOURCE_EXHAUSTED', reason: 'rateLimitExceeded' },
        { status: 503, errorStatus: 'UNAVAILABLE', reason: 'backendError' },
        { status: 403, errorStatus: 'PERMISSION_DENIED', reason: 'userRateLimitExceeded' },
      );
      const retried = request(tenant, 'email.send', email);
      for (const status of [429, 503, 403]) {
        const e = await rejection(h.run({ ...retried, attempt: 1 }));
        expect(e).not.toBeInstanceOf(TerminalEffectError);
        expect(e.message).toMatch(new RegExp(`^Gmail answered ${status} `));
      }
      expect(await h.run({ ...retried, attempt: 4 })).toMatchObject({ delivered: true, transport: 'gmail' });
      expect(gmail.sent).toHaveLength(1);
      const [done] = await db.query<SentEmailRow>(`SELECT status, attempts, error FROM sent_emails WHERE tenant = $1 AND id = $2`, [tenant, retried.id]);
      expect(done).toEqual({ status: 'sent', attempts: 4, error: null });
    });

    it('refuses CR/LF in the subject (header injection) before recording or sending anything', async () => {
      const h = mailer(gmailConfig());
      for (const subject of ['Hi\r\nBcc: victim@evil.example', 'Hi\nBcc: victim@evil.example', 'Hi\rthere']) {
        const req = request(tenant, 'email.send', { to: 'ann@client.example', subject, body: 'x' });
        const err = await rejection(h.run(req));
        expect(err).toBeInstanceOf(TerminalEffectError);
        expect(err).toMatchObject({ code: 'header_injection' });
        expect(err.message).toBe('the subject contains a line break (CR or LF), which would inject email headers; refused');
      }
      const bad = await rejection(h.run(request(tenant, 'email.send', { to: 'ann@client.example\r\nBcc: x@evil.example', subject: 'Hi', body: 'x' })));
      expect(bad).toMatchObject({ code: 'invalid_params' });
      expect(gmail.requests).toHaveLength(0);
      expect((await records().emails(tenant)).items).toEqual([]);
    });
  });
});

describe('alert throttling under concurrency (PostgreSQL)', () => {
  let opened: OpenedBackend;
  let locker: Database;
  let slack: FakeSlack;
  beforeAll(async () => {
    opened = await openTestPostgres();
    await migrate(opened.db);
    locker = await openDatabase({ url: opened.url! });
    slack = await startFakeSlack();
  });
  afterAll(async () => {
    await slack?.close();
    await locker?.close();
    await opened?.cleanup();
  });

  it('alerts of one topic that reach the throttle check together post once', async () => {
    // Six alerts are recorded, and their rows locked by another session: each
    // handler reads the throttle state, then waits to mark its own row sending.
    // Without the per-topic lock all six would have read "nothing sent" and posted.
    const clock = new ManualClock(Date.parse('2026-01-05T09:00:00Z'));
    const h = notifySendEffect(opened.db, clock, loadNotifyConfig({}, { webhookUrl: slack.url }), pino({ level: 'silent' }));
    const reqs = Array.from({ length: 6 }, () => request('race', 'notify.send', alert('storm')));
    for (const r of reqs) {
      await opened.db.query(
        `INSERT INTO notifications (tenant, id, kind, channel, severity, title, body, topic, created_at) VALUES ($1, $2, 'alert', 'builds', 'urgent', 'Email sending failed', 'Gmail refused 3 sends.', 'storm', $3::timestamptz)`,
        [r.tenant, r.id, new Date(clock.now()).toISOString()],
      );
    }
    let runs: Promise<unknown>[] = [];
    await locker.transaction(async (tx) => {
      await tx.query(`SELECT id FROM notifications WHERE tenant = 'race' FOR UPDATE`);
      runs = reqs.map((r) => h.run(r));
      await eventually(
        async () => {
          const [w] = await opened.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
          return w!.n >= 6;
        },
        10_000,
        'six handlers waiting',
      );
    });
    const results = (await Promise.all(runs)) as { delivery: string }[];
    expect(results.map((r) => r.delivery).sort()).toEqual(['delivered', 'throttled', 'throttled', 'throttled', 'throttled', 'throttled']);
    expect(slack.posts).toHaveLength(1);
  });
});

describe('notify configuration and encodings', () => {
  it('refuses a Gmail token without CADRE_MAIL_FROM, and bad values, naming the variable', () => {
    expect(() => loadNotifyConfig({ CADRE_GMAIL_ACCESS_TOKEN: 'ya29.x' })).toThrow(ConfigError);
    expect(() => loadNotifyConfig({ CADRE_GMAIL_ACCESS_TOKEN: 'ya29.x' })).toThrow(/CADRE_MAIL_FROM: is required when CADRE_GMAIL_ACCESS_TOKEN is set/);
    expect(() => loadNotifyConfig({ CADRE_NOTIFY_WEBHOOK_URL: 'hooks.slack.com/x' })).toThrow(/CADRE_NOTIFY_WEBHOOK_URL: must be an http/);
    expect(() => loadNotifyConfig({ CADRE_ALERT_THROTTLE_MS: 'soon' })).toThrow(/CADRE_ALERT_THROTTLE_MS/);
    expect(() => loadNotifyConfig({ CADRE_MAIL_FROM: 'ops@acme.example\r\nBcc: x@y.z' })).toThrow(/CADRE_MAIL_FROM/);
    expect(loadNotifyConfig({})).toEqual({ webhookTimeoutMs: 10_000, alertThrottleMs: 3_600_000, gmailBaseUrl: 'https://gmail.googleapis.com', mailTimeoutMs: 10_000 });
    expect(Object.isFrozen(loadNotifyConfig({}))).toBe(true);
  });

  it('quoted-printable: soft breaks keep lines within 76 characters, and it decodes back', () => {
    const text = `${'a'.repeat(200)}\n= tab\tend \nünïcødé ${'€'.repeat(40)}`;
    const qp = quotedPrintable(text);
    for (const l of qp.split('\r\n')) expect(l.length).toBeLessThanOrEqual(76);
    expect(qp).toMatch(/^[\x20-\x7e\t\r\n]*$/);
    expect(qp).toContain('=3D tab\tend=20\r\n');
    expect(decodeQuotedPrintable(qp)).toBe(text.replace(/\n/g, '\r\n'));
  });

  it('RFC 2047: ASCII stays as is, other text becomes encoded words of at most 75 characters that decode back', () => {
    expect(encodeHeaderText('Your roof quote')).toBe('Your roof quote');
    expect(encodeHeaderText('a =?x?B?y?= trick')).toMatch(/^=\?UTF-8\?B\?/);
    const long = `Angebot für Ihr Dach: ${'Grüße '.repeat(20)}✓`;
    const encoded = encodeHeaderText(long);
    for (const word of encoded.split('\r\n ')) expect(word.length).toBeLessThanOrEqual(75);
    expect(decodeWords(encoded)).toBe(long);
  });

  it('Slack messages keep within Slack limits: header 150 characters, sections 3000, at most 50 blocks', () => {
    const m = slackMessage({ kind: 'report', channel: 'sales', severity: 'info', title: 'T'.repeat(400), body: '&'.repeat(40_000) });
    expect(m.blocks.length).toBeLessThanOrEqual(50);
    const [header, ...rest] = m.blocks;
    expect((header as { text: { text: string } }).text.text.length).toBeLessThanOrEqual(150);
    for (const b of rest) if (b.type === 'section') expect(b.text.text.length).toBeLessThanOrEqual(3000);
    const sections = rest.filter((b) => b.type === 'section');
    expect(sections.every((b) => !/&(?!amp;)/.test(b.type === 'section' ? b.text.text.replace(/\n… \(cut short; the full text is in Cadre\)$/, '') : ''))).toBe(true);
    expect(slackMessage({ kind: 'brief', channel: 'sales', severity: 'info', title: 'x', body: '' }).blocks.map((b) => b.type)).toEqual(['header', 'context']);
  });
});

// ——— end to end: a gated machine asks for notify.send through a real runtime ———

const NotifierEvent = z.discriminatedUnion('type', [z.object({ type: z.literal('incident'), title: z.string(), body: z.string(), topic: z.string() }), GateRetry]);
type NotifierCtx = GateContext & { request: Record<string, unknown>; results: unknown[] };

const notifierMachine = setup({
  types: { context: {} as NotifierCtx, events: {} as Stamped<z.infer<typeof NotifierEvent>> | Stamped<GateMachineEvent> },
  actions: { ...runtimeActions },
}).createMachine({
  id: 'notifier',
  context: { request: {}, results: [], gates: {} },
  initial: 'idle',
  states: {
    idle: {
      on: {
        incident: {
          target: 'notifying',
          actions: assign({
            request: ({ event }) => ({ kind: 'alert', channel: 'builds', severity: 'urgent', title: event.title, body: event.body, topic: event.topic }),
          }),
        },
      },
    },
    notifying: gate<NotifierCtx>({
      name: 'notify',
      actionType: 'notify.send',
      agent: 'engineering',
      params: ({ context }) => context.request,
      preview: ({ context }) => `Alert #builds: ${String(context.request.title)}`,
      targets: { done: '#notifier.idle' },
      onDone: [assign(({ context, event }: { context: NotifierCtx; event: AnyEventObject }) => ({ results: [...context.results, event.result] }))],
    }),
  },
});
const notifierEntity = defineEntity({ kind: 'notifier', machine: notifierMachine, events: NotifierEvent });

describe('notify.send through a runtime', () => {
  let env: TestEnv;
  let slack: FakeSlack;
  beforeEach(async () => {
    env = await makeEnv('services');
    slack = await startFakeSlack();
  });
  afterEach(async () => {
    await env?.cleanup();
    await slack?.close();
  });

  it('a machine asks through its gate; under semi_autonomous (low risk) it runs on its own, the webhook gets it, and it is listed', async () => {
    let rt: Runtime | undefined;
    const effects: EffectHandler[] = notifyEffects(() => rt!.db, env.clock, loadNotifyConfig({}, { webhookUrl: slack.url }), pino({ level: 'silent' }));
    rt = await env.start({ entities: [notifierEntity], effects });
    await rt.gate.settings.setLevel('acme', { level: 'semi_autonomous' }, 'test');
    const at = { tenant: 'acme', kind: 'notifier', key: 'N-1' };
    expect(await rt.send.send(at, { type: 'incident', title: 'Build 812 failed', body: 'main is red', topic: 'build.failed' }, { wait: true })).toMatchObject({ ok: true });

    const ctx = (a: { context: unknown }) => a.context as NotifierCtx;
    const done = await eventually(
      async () => {
        const a = await rt!.operator.actor(at);
        return a?.state === 'idle' && ctx(a).results.length === 1 ? a : undefined;
      },
      15_000,
      'the notifier back in idle with the result',
    );
    const effectId = ctx(done).gates.notify!.effectId!;
    expect(effectId).toMatch(/^acme\/notifier\/N-1#/);
    expect(ctx(done).results).toEqual([{ notificationId: effectId, delivery: 'delivered' }]);
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0]!.json.blocks[0].text.text).toBe(':rotating_light: Urgent: Build 812 failed');

    const listed = await new Notifications(rt.db, rt.clock, {}).list('acme');
    expect(listed.items).toEqual([
      expect.objectContaining({ id: effectId, kind: 'alert', topic: 'build.failed', agent: 'engineering', actor: 'notifier/N-1', status: 'delivered', attempts: 1 }),
    ]);
    const audit = await rt.audit('acme', { actor: 'notifier/N-1' });
    expect(audit.map((a) => [a.entry, a.outcome, a.risk])).toEqual(expect.arrayContaining([['decision', 'auto', 'low'], ['execution', 'executed', 'low']]));
  });
});
