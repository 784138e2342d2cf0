import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeBackends, eventually, type TestEnv } from '../support/runtime.ts';
import { brief, contactTestEntity, email, gateRecord, OutreachProbe, outreachEntity, Recorder } from '../support/gated.ts';
import {
  actionTypeInfo,
  autoExecutes,
  checkPolicies,
  decide,
  findSecret,
  humanTaskAllowed,
  recipients,
  resolveLevel,
  type Runtime,
} from '../../runtime/index.ts';
import type { DecisionFacts } from '../../runtime/gate/decide.ts';
import type { LevelRow } from '../../runtime/gate/levels.ts';

const NOW = Date.parse('2026-01-05T09:00:00Z');
const DAY = 86_400_000;

/** Facts of an allowed, autonomous, high-risk email; each test changes what it is about. */
function facts(o: Partial<DecisionFacts> = {}): DecisionFacts {
  const actionType = o.actionType ?? 'email.send';
  return {
    actionType,
    info: actionTypeInfo(actionType),
    params: { to: 'ann@client.example', subject: 'Hello', body: 'About your roof.' },
    paused: null,
    suppressed: [],
    engagementOverdue: false,
    maxRecipients: 25,
    level: 'autonomous',
    levelScope: 'tenant default',
    risk: actionTypeInfo(actionType).risk,
    dryRun: false,
    rate: null,
    now: NOW,
    ...o,
  };
}

describe('gate policies as pure functions', () => {
  it('autoExecutes is the table of DESIGN.md', () => {
    const table = {
      supervised: [false, false, false, false],
      semi_autonomous: [true, false, false, false],
      autonomous: [true, true, true, false],
    } as const;
    for (const [level, row] of Object.entries(table)) {
      expect((['low', 'medium', 'high', 'critical'] as const).map((r) => autoExecutes(level as keyof typeof table, r)), level).toEqual(row);
    }
  });

  it('resolveLevel: agent + action type > action type > agent > tenant default > fallback', () => {
    const all: LevelRow[] = [
      { agent: '*', action_type: '*', level: 'supervised' },
      { agent: 'sales', action_type: '*', level: 'semi_autonomous' },
      { agent: '*', action_type: 'email.send', level: 'autonomous' },
      { agent: 'sales', action_type: 'email.send', level: 'supervised' },
      { agent: 'billing', action_type: 'email.send', level: 'semi_autonomous' },
    ];
    const without = (...drop: number[]) => all.filter((_, i) => !drop.includes(i));
    expect(resolveLevel(all, 'sales', 'email.send', 'autonomous')).toEqual({ level: 'supervised', scope: 'agent sales, action email.send' });
    expect(resolveLevel(without(3), 'sales', 'email.send', 'supervised')).toEqual({ level: 'autonomous', scope: 'action email.send' });
    expect(resolveLevel(without(2, 3, 4), 'sales', 'email.send', 'supervised')).toEqual({ level: 'semi_autonomous', scope: 'agent sales' });
    expect(resolveLevel(without(1, 2, 3, 4), 'sales', 'email.send', 'autonomous')).toEqual({ level: 'supervised', scope: 'tenant default' });
    expect(resolveLevel([], 'sales', 'email.send', 'semi_autonomous')).toEqual({ level: 'semi_autonomous', scope: 'instance default' });
    // Another agent's or another action's rows never apply.
    expect(resolveLevel(without(0, 1, 2, 3), 'sales', 'email.send', 'supervised')).toEqual({ level: 'supervised', scope: 'instance default' });
    expect(resolveLevel(all, 'sales', 'task.create', 'autonomous')).toEqual({ level: 'semi_autonomous', scope: 'agent sales' });
    expect(resolveLevel(all, 'research', 'task.create', 'autonomous')).toEqual({ level: 'supervised', scope: 'tenant default' });
  });

  it('humanTaskAllowed: only a client who explicitly asked, a compliance deadline or a safety escalation', () => {
    const client = (evidence: string) => humanTaskAllowed({ trigger: 'client_request', evidenceFrom: 'client', evidence });
    expect(client('Can you call me Thursday?')).toBeNull();
    expect(client('Could you send someone to look at the roof?')).toBeNull();
    expect(client('Please call us after 3pm')).toBeNull();
    expect(client("I'd like to schedule a visit next week")).toBeNull();
    expect(client('We should call them')).toBe('the client did not explicitly ask: "We should call them"');
    expect(client('Thanks for the quote.')).toContain('did not explicitly ask');
    expect(humanTaskAllowed({ trigger: 'client_request', evidenceFrom: 'agent', evidence: 'Can you call me Thursday?' })).toContain("client's own words");
    expect(humanTaskAllowed({ trigger: 'client_request', evidence: 'Can you call me Thursday?' })).toContain("client's own words");
    expect(humanTaskAllowed({ trigger: 'compliance_deadline' })).toBeNull();
    expect(humanTaskAllowed({ trigger: 'safety_escalation' })).toBeNull();
    expect(humanTaskAllowed({ title: 'We should call them' })).toContain('created only when the client asked');
    expect(humanTaskAllowed({ trigger: 'agent_idea', evidence: 'Can you call me?' , evidenceFrom: 'client' })).toContain('created only when the client asked');
  });

  it('findSecret: passwords, card numbers (Luhn) and keys anywhere in the params; ordinary numbers pass', () => {
    expect(findSecret({ body: 'Your new password: Tr0ub4dor&3' })).toBe('a password');
    expect(findSecret({ body: 'password=hunter2' })).toBe('a password');
    expect(findSecret({ body: 'Card 4111 1111 1111 1111, exp 12/29' })).toBe('a card number');
    expect(findSecret({ body: 'card: 4111-1111-1111-1111' })).toBe('a card number');
    expect(findSecret({ nested: { list: ['x', { deep: '5555555555554444' }] } })).toBe('a card number');
    expect(findSecret({ body: 'AKIAIOSFODNN7EXAMPLE' })).toBe('an AWS access key');
    expect(findSecret({ body: 'key sk-abcdefghijklmnopqrstuvwxyz0123' })).toBe('an API key');
    expect(findSecret({ body: '-----BEGIN RSA PRIVATE KEY-----\nMIIE...' })).toBe('a private key');
    // Not secrets: a 16-digit number failing Luhn, a phone number, a date-based reference, the word alone.
    expect(findSecret({ body: 'Order 1234 5678 9012 3456 is on its way' })).toBeNull();
    expect(findSecret({ body: 'Call 555-123-4567', subject: 'Ref 20260105-0001' })).toBeNull();
    expect(findSecret({ body: 'Forgot your password? Use the reset link.' })).toBeNull();
    expect(findSecret({ amount: 4111111111111111 })).toBeNull(); // only strings are messages
  });

  it('recipients: to, cc and bcc, normalized and counted once', () => {
    expect(recipients({ to: ['Ann <ANN@client.example>', ' ann@client.example'], cc: 'bo@client.example', bcc: null })).toEqual(['ann@client.example', 'bo@client.example']);
    expect(recipients({ subject: 'x' })).toEqual([]);
  });

  it('checkPolicies: each policy, in order; only outbound actions are checked for spam and secrets', () => {
    expect(checkPolicies(facts())).toBeNull();
    // The kill switch comes first, whatever else is wrong.
    expect(checkPolicies(facts({ paused: { scope: 'global', reason: 'incident' }, suppressed: [{ address: 'ann@client.example', kind: 'opt_out' }] }))).toEqual({
      policy: 'kill_switch',
      reason: 'the global kill switch is on: incident',
    });
    expect(checkPolicies(facts({ paused: { scope: 'tenant', reason: null } }))).toEqual({ policy: 'kill_switch', reason: 'the tenant kill switch is on' });
    // An opt-out beats other suppressions.
    expect(
      checkPolicies(facts({ suppressed: [{ address: 'bo@client.example', kind: 'bounce' }, { address: 'ann@client.example', kind: 'opt_out' }] })),
    ).toEqual({ policy: 'opt_out', reason: 'ann@client.example opted out of messages' });
    expect(checkPolicies(facts({ suppressed: [{ address: 'bo@client.example', kind: 'bounce' }] }))).toEqual({ policy: 'suppression', reason: 'bo@client.example is suppressed (bounce)' });
    const many = Array.from({ length: 26 }, (_, i) => `r${i}@client.example`);
    expect(checkPolicies(facts({ params: { to: many, subject: 'Hi' } }))).toMatchObject({ policy: 'bulk_send', reason: expect.stringContaining('26 recipients') });
    expect(checkPolicies(facts({ params: { to: many.slice(0, 25), subject: 'Hi' } }))).toBeNull();
    expect(checkPolicies(facts({ params: { to: 'ann@client.example', body: 'password: x1' } }))).toMatchObject({ policy: 'sensitive_data' });
    // Not outbound: suppression and secrets are not its business (its other rules are).
    expect(checkPolicies(facts({ actionType: 'notify.internal', params: { body: 'password: x1' }, suppressed: [{ address: 'x', kind: 'bounce' }] }))).toBeNull();
    expect(checkPolicies(facts({ actionType: 'task.create', params: { title: 'We should call them' } }))).toMatchObject({ policy: 'no_human_task' });
    expect(checkPolicies(facts({ actionType: 'task.create', params: { trigger: 'compliance_deadline' } }))).toBeNull();
    expect(checkPolicies(facts({ actionType: 'research.run', params: {}, engagementOverdue: true }))).toMatchObject({ policy: 'research_after_engagement' });
    expect(checkPolicies(facts({ actionType: 'research.run', params: {}, engagementOverdue: false }))).toBeNull();
    expect(checkPolicies(facts({ actionType: 'research.contact_discovery', params: {}, engagementOverdue: true }))).toBeNull();
  });

  it('decide: policies, then the daily limit, then level × risk; dry-run only for what would run', () => {
    expect(decide(facts())).toMatchObject({ outcome: 'auto', policy: null, until: null });
    expect(decide(facts({ level: 'semi_autonomous' }))).toMatchObject({ outcome: 'approval', reason: 'tenant default is semi_autonomous; email.send is high risk: a person approves' });
    expect(decide(facts({ risk: 'critical' }))).toMatchObject({ outcome: 'approval' });
    // A policy blocks before anything else; a reached limit holds until the next UTC day.
    expect(decide(facts({ paused: { scope: 'tenant', reason: null }, rate: { perDay: 1, used: 1 } }))).toMatchObject({ outcome: 'blocked', policy: 'kill_switch' });
    expect(decide(facts({ rate: { perDay: 50, used: 50 }, level: 'supervised' }))).toEqual({
      outcome: 'held',
      policy: 'rate_limit',
      reason: 'the daily limit of 50 email.send is reached; it may go tomorrow (UTC)',
      until: '2026-01-06T00:00:00.000Z',
    });
    expect(decide(facts({ rate: { perDay: 50, used: 49 } }))).toMatchObject({ outcome: 'auto' });
    expect(decide(facts({ rate: { perDay: 0, used: 0 } }))).toMatchObject({ outcome: 'held' });
    // Dry-run: what would run is recorded instead; what needs a person still needs one.
    expect(decide(facts({ dryRun: true }))).toMatchObject({ outcome: 'dry_run' });
    expect(decide(facts({ dryRun: true, risk: 'critical' }))).toMatchObject({ outcome: 'approval' });
    expect(decide(facts({ dryRun: true, suppressed: [{ address: 'ann@client.example', kind: 'opt_out' }] }))).toMatchObject({ outcome: 'blocked', policy: 'opt_out' });
  });
});

/**
 * The hard guardrails of reference/hourly-cycle-and-policies.md ("Hard Guardrails",
 * "Policy Enforcement Engine") end to end: each policy holds, and its violation is
 * in the audit log with the policy's name and the reason. (The kill switch and
 * dry-run are in gate.test.ts.) Tenants are autonomous unless a test says
 * otherwise, so what a policy does not stop runs on its own.
 */
describe.each(runtimeBackends)('gate policies on $name', ({ make }) => {
  let env: TestEnv;
  let rt: Runtime;
  let p: OutreachProbe;
  const rec = new Recorder();

  beforeAll(async () => {
    env = await make();
    rt = await env.start({ entities: [outreachEntity, contactTestEntity], effects: rec.handlers() });
    p = new OutreachProbe(rt);
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  const autonomous = (tenant: string) => rt.gate.settings.setLevel(tenant, { level: 'autonomous' }, 'test');

  /** The request was blocked by `policy`: the actor's gate says so, nothing ran, and the audit log has the policy and reason. */
  async function blocked(key: string, tenant: string, stateName: string, policy: string, reason: string | RegExp) {
    const v = await p.inState(key, tenant, `${stateName}.blocked`);
    const gateName = Object.keys(v.context.gates).find((g) => v.context.gates[g]!.status === 'blocked')!;
    expect(gateRecord(v.context, gateName), `${tenant}/${key}`).toMatchObject({ status: 'blocked', policy });
    const e = await p.effectOf(key, tenant);
    expect(e, `${tenant}/${key}`).toMatchObject({ status: 'blocked' });
    const log = await p.auditOf(key, tenant);
    const last = log.at(-1)!;
    expect(brief([last]), `${tenant}/${key}`).toEqual([{ entry: 'decision', outcome: 'blocked', decided_by: 'gate', policy }]);
    if (typeof reason === 'string') expect(last.reason).toBe(reason);
    else expect(last.reason).toMatch(reason);
    expect(e!.last_error).toBe(last.reason);
    expect(await rt.approvals.list(tenant, { status: 'pending' }).then((l) => l.filter((a) => a.key === key))).toHaveLength(0);
    return last;
  }
  async function noCalls(tenant: string, keys: string[]) {
    await p.quiesce();
    for (const k of keys) expect(rec.ofTenant(tenant).filter((c) => c.actor.key === k), `${tenant}/${k}`).toHaveLength(0);
  }

  it('no human task unless the client explicitly asked (or a compliance deadline, or safety)', async () => {
    const T = 'human';
    await autonomous(T);
    await p.send('H-1', T, { type: 'task', title: 'Call them', trigger: 'client_request', evidence: 'We should call them', evidenceFrom: 'client' });
    await p.send('H-2', T, { type: 'task', title: 'Call them' });
    await p.send('H-3', T, { type: 'task', title: 'Call Ann', trigger: 'client_request', evidence: 'Can you call me Thursday?', evidenceFrom: 'agent' });
    await p.send('H-4', T, { type: 'task', title: 'Call Ann Thursday', trigger: 'client_request', evidence: 'Can you call me Thursday?', evidenceFrom: 'client' });
    await p.send('H-5', T, { type: 'task', title: 'File the quarterly report', trigger: 'compliance_deadline' });
    await blocked('H-1', T, 'tasking', 'no_human_task', 'the client did not explicitly ask: "We should call them"');
    await blocked('H-2', T, 'tasking', 'no_human_task', /human tasks are created only when the client asked, a compliance deadline is due or safety needs escalation/);
    await blocked('H-3', T, 'tasking', 'no_human_task', /client's own words/);
    await p.finished('H-4', T, 'task:done');
    await p.finished('H-5', T, 'task:done');
    expect(rec.of('task.create', 'H-4', T)[0]!.params).toMatchObject({ evidence: 'Can you call me Thursday?' });
    await noCalls(T, ['H-1', 'H-2', 'H-3']);
    // A policy blocks whatever the level: a supervised tenant gets no approval to grant for it.
    await p.send('H-6', 'human-sup', { type: 'task', title: 'Call them', trigger: 'client_request', evidence: 'We should call them', evidenceFrom: 'client' });
    await blocked('H-6', 'human-sup', 'tasking', 'no_human_task', /did not explicitly ask/);
  });

  it('no research until the engagement list is exhausted; contact discovery is always allowed', async () => {
    const T = 'research';
    await autonomous(T);
    const contact = (key: string, tenant = T) => ({ tenant, kind: 'contact', key });
    const iso = (ms: number) => new Date(ms).toISOString();
    // No overdue contact (one compliant, another tenant's overdue): research runs.
    await rt.send.send(contact('C-1'), { type: 'due', nextTouchDue: iso(env.clock.now() + 7 * DAY) }, { wait: true });
    await rt.send.send(contact('C-9', 'research-other'), { type: 'due', nextTouchDue: iso(env.clock.now() - DAY) }, { wait: true });
    await p.send('R-1', T, { type: 'research', topic: 'new builds in the county' });
    await p.finished('R-1', T, 'research:done');

    // A contact overdue: research is blocked, discovery still goes.
    await rt.send.send(contact('C-2'), { type: 'due', nextTouchDue: iso(env.clock.now() - 2 * DAY) }, { wait: true });
    await p.send('R-2', T, { type: 'research', topic: 'roofing permits' });
    await p.send('R-3', T, { type: 'discover', company: 'Acme Builders' });
    await blocked('R-2', T, 'researching', 'research_after_engagement', 'engagements are overdue: research waits until the follow-up list is exhausted');
    await p.finished('R-3', T, 'discover:done');
    await noCalls(T, ['R-2']);

    // The overdue contact is touched (due again in the future), another archived while overdue: research may go again.
    await rt.send.send(contact('C-2'), { type: 'due', nextTouchDue: iso(env.clock.now() + 21 * DAY) }, { wait: true });
    await rt.send.send(contact('C-3'), { type: 'due', nextTouchDue: iso(env.clock.now() - 30 * DAY) }, { wait: true });
    await rt.send.send(contact('C-3'), { type: 'archive' }, { wait: true });
    await p.send('R-2', T, { type: 'gate.retry', gate: 'research' });
    const v = await p.finished('R-2', T, 'research:done');
    expect(gateRecord(v.context, 'research')).toMatchObject({ request: 2, status: 'done' });
    expect(rec.of('research.run', 'R-2', T)).toHaveLength(1);

    // Time passes and C-1 falls due: blocked again.
    env.clock.advance(8 * DAY);
    await p.send('R-4', T, { type: 'research', topic: 'gutters' });
    await blocked('R-4', T, 'researching', 'research_after_engagement', /engagements are overdue/);
  });

  it('no spam: opt-outs, suppressed addresses (bounces) and bulk recipients are blocked', async () => {
    const T = 'spam';
    await autonomous(T);
    const s = rt.gate.settings;
    await s.suppress(T, { address: 'Bob <BOB@Client.example>', kind: 'opt_out', reason: 'replied STOP' }, 'test');
    await s.suppress(T, { address: 'gone@client.example', kind: 'bounce', reason: 'hard bounce' }, 'test');
    await s.suppress('spam-other', { address: 'ann@client.example', kind: 'opt_out' }, 'test'); // another tenant's list

    await p.send('S-1', T, email('bob@client.example'));
    await p.send('S-2', T, { ...email('ann@client.example'), cc: ['Bob@client.example'] });
    await p.send('S-3', T, email('gone@client.example'));
    await p.send('S-4', T, email('ann@client.example'));
    const many = Array.from({ length: 26 }, (_, i) => `r${i}@client.example`);
    await p.send('S-5', T, { ...email(many.slice(0, 20)), cc: many.slice(20) });
    // 25 distinct recipients (case and display names do not make more) is allowed.
    await p.send('S-6', T, email([...many.slice(0, 25), 'R0@CLIENT.example', 'Rita <r1@client.example>']));

    await blocked('S-1', T, 'emailing', 'opt_out', 'bob@client.example opted out of messages');
    await blocked('S-2', T, 'emailing', 'opt_out', 'bob@client.example opted out of messages');
    await blocked('S-3', T, 'emailing', 'suppression', 'gone@client.example is suppressed (bounce)');
    await blocked('S-5', T, 'emailing', 'bulk_send', '26 recipients in one email.send; the limit is 25 (use a broadcast, which is approved as such)');
    await p.finished('S-4', T, 'email:done');
    await p.finished('S-6', T, 'email:done');
    await noCalls(T, ['S-1', 'S-2', 'S-3', 'S-5']);

    // Taken off the list, a retry goes.
    expect(await s.unsuppress(T, 'BOB@client.example')).toBe(true);
    await p.send('S-1', T, { type: 'gate.retry', gate: 'email' });
    await p.finished('S-1', T, 'email:done');
    expect(rec.of('email.send', 'S-1', T)).toHaveLength(1);
    const blocks = await rt.audit(T, { outcome: 'blocked' });
    expect(blocks.map((b) => b.policy).sort()).toEqual(['bulk_send', 'opt_out', 'opt_out', 'suppression']);

    // An opt-out that comes while an email waits for approval stops it when it would run.
    const W = 'spam-wait';
    const a = await p.awaitingEmail('W-1', W, email('cara@client.example'));
    await s.suppress(W, { address: 'cara@client.example', kind: 'opt_out', reason: 'replied STOP' }, 'test');
    await rt.approvals.approve(W, a.id, 'ana');
    await p.effectIs('W-1', W, 'blocked');
    const v = await p.inState('W-1', W, 'emailing.blocked');
    expect(gateRecord(v.context, 'email')).toMatchObject({ status: 'blocked', reason: 'cara@client.example opted out of messages' });
    const log = await p.auditOf('W-1', W);
    expect(brief(log)).toEqual([
      { entry: 'decision', outcome: 'approval', decided_by: 'gate', policy: null },
      { entry: 'approval', outcome: 'approved', decided_by: 'ana', policy: null },
      { entry: 'execution', outcome: 'blocked', decided_by: 'executor', policy: 'opt_out' },
    ]);
    expect(log[2]!.reason).toBe('cara@client.example opted out of messages');
    await noCalls(W, ['W-1']);
  });

  it('no spam: the daily rate limit holds what is over it, also when requests race for the last slots', async () => {
    const T = 'rate';
    await autonomous(T);
    await rt.gate.settings.setLimit(T, { actionType: 'email.send', perDay: 2 }, 'test');
    const today = new Date(env.clock.now()).toISOString().slice(0, 10);
    const tomorrow = new Date(Date.parse(today) + DAY).toISOString();
    const keys = ['L-1', 'L-2', 'L-3', 'L-4'];
    await Promise.all(keys.map((k) => p.send(k, T, email(`${k.toLowerCase()}@client.example`))));
    await eventually(async () => rec.of('email.send', undefined, T).length === 2, 10_000, 'two sent');
    const heldKeys = await eventually(async () => {
      const held: string[] = [];
      for (const k of keys) if ((await p.actor(k, T))?.state === 'emailing.held') held.push(k);
      return held.length === 2 ? held : undefined;
    }, 10_000, 'two held');
    await p.quiesce();
    expect(rec.of('email.send', undefined, T)).toHaveLength(2);
    for (const k of heldKeys) {
      expect(rec.of('email.send', k, T), k).toHaveLength(0);
      const held = (await p.auditOf(k, T)).find((a) => a.outcome === 'held')!;
      // Held when decided (the limit was already reached) or when claiming its slot (it raced and lost).
      expect(held, k).toMatchObject({ policy: 'rate_limit', reason: 'the daily limit of 2 email.send is reached; it may go tomorrow (UTC)' });
      expect(gateRecord((await p.actor(k, T))!.context, 'email')).toMatchObject({ status: 'held', policy: 'rate_limit', until: tomorrow });
    }
    const [usage] = await rt.db.query<{ used: number }>(`SELECT used FROM rate_usage WHERE tenant = $1`, [T]);
    expect(usage).toEqual({ used: 2 });

    // The next UTC day the two go (the limit allows two a day).
    env.clock.set(Date.parse(tomorrow) + 1000);
    await rt.effects.poll();
    for (const k of heldKeys) await p.finished(k, T, 'email:done');
    expect(rec.of('email.send', undefined, T)).toHaveLength(4);
    expect(await rt.db.query(`SELECT day::text AS day, used FROM rate_usage WHERE tenant = $1 ORDER BY day`, [T])).toEqual([
      { day: today, used: 2 },
      { day: tomorrow.slice(0, 10), used: 2 },
    ]);
  });

  it('sensitive data: a password or a card number never leaves in a message', async () => {
    const T = 'secrets';
    await autonomous(T);
    await p.send('X-1', T, email('ann@client.example', 'Your account', 'Welcome! Your new password: Tr0ub4dor&3'));
    await p.send('X-2', T, email('ann@client.example', 'Payment', 'We charged 4111 1111 1111 1111 for the deposit.'));
    await p.send('X-3', T, email('ann@client.example', 'Order 1234 5678 9012 3456', 'Forgot your password? Use the reset link.'));
    await blocked('X-1', T, 'emailing', 'sensitive_data', 'the message contains a password; credentials and card numbers never leave by message');
    await blocked('X-2', T, 'emailing', 'sensitive_data', 'the message contains a card number; credentials and card numbers never leave by message');
    await p.finished('X-3', T, 'email:done');
    await noCalls(T, ['X-1', 'X-2']);
    // Blocked outright, also where a person would otherwise approve it.
    await p.send('X-4', 'secrets-sup', email('ann@client.example', 'Card', 'card 5555 5555 5555 4444'));
    await blocked('X-4', 'secrets-sup', 'emailing', 'sensitive_data', /a card number/);
  });
});
