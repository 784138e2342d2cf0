import { Token } from '../../../bus/index.ts';
import type { Runtime } from '../../runtime.ts';
import type { Logger } from '../../logger.ts';
import type { OutboxEntry } from '../../outbox.ts';
import { WebhookError } from './errors.ts';
import { WebhookSecrets, WebhookSource } from './secrets.ts';
import { parseBasic, verifyPassword, verifySignature } from './verify.ts';
import { deliveryRef, mapDelivery, type ActorCommand, type Plan } from './map.ts';
import { toEvent } from './events.ts';

/** One webhook request as received: the raw body and the headers that matter. */
export interface WebhookRequest {
  source: string;
  raw: Buffer;
  /** `Content-Type` */
  contentType?: string | undefined;
  /** `X-Cadre-Tenant` */
  tenant?: string | undefined;
  /** `X-Cadre-Signature: sha256=<hex>` */
  signature?: string | undefined;
  /** `Authorization` (Pipedrive: Basic `<tenant>:<secret>`) */
  authorization?: string | undefined;
  /** `X-Cadre-Delivery` */
  delivery?: string | undefined;
}

/** The answer to an accepted delivery (HTTP 202). */
export interface WebhookResult {
  accepted: true;
  deliveryId: string;
  /** The delivery id was seen before: nothing was published this time. */
  duplicate: boolean;
  /** `queued`: events for actors or domain events were committed to the outbox; `ignored`: recorded, nothing to do. */
  outcome: 'queued' | 'ignored';
  /** What it led to, or why it was ignored. */
  detail: string;
}

/**
 * Receives webhooks: names the tenant, verifies the delivery with the tenant's
 * secret for the source, maps the payload (map.ts) and commits, in one
 * transaction, the delivery's record (its deduplication) with the outbox rows of
 * what it leads to; those are published after the commit. The work itself
 * happens in the actors and consumers, so the answer comes quickly.
 */
export class WebhookReceiver {
  readonly secrets: WebhookSecrets;
  private readonly log: Logger;

  constructor(private readonly rt: Runtime) {
    // Through the runtime at each call: the database is opened by rt.start(), which may come later.
    this.secrets = new WebhookSecrets({ query: (text, params) => rt.db.query(text, params) }, rt.clock);
    this.log = rt.log.child({ component: 'webhooks' });
  }

  /** Verifies and applies one delivery; throws WebhookError (4xx) when it is refused. */
  async receive(req: WebhookRequest): Promise<WebhookResult> {
    const source = WebhookSource.safeParse(req.source);
    if (!source.success) throw new WebhookError(404, 'unknown_source', `no webhook source "${req.source}"; the sources are ${WebhookSource.options.join(', ')}`);
    const { tenant, basic } = this.tenantOf(source.data, req);
    await this.verify(source.data, tenant, basic, req);
    const body = parseBody(source.data, req);
    const plan = mapDelivery({ source: source.data, tenant, body, raw: req.raw, deliveryHeader: req.delivery });
    return this.commit(source.data, tenant, plan);
  }

  private tenantOf(source: WebhookSource, req: WebhookRequest): { tenant: string; basic: { user: string; password: string } | null } {
    const basic = source === 'pipedrive' ? parseBasic(req.authorization) : null;
    const named = req.tenant?.trim() || basic?.user;
    if (!named) {
      const how = source === 'pipedrive' ? 'the X-Cadre-Tenant header or the Basic auth user name' : 'the X-Cadre-Tenant header';
      throw new WebhookError(400, 'tenant_required', `name the tenant with ${how}`);
    }
    const t = Token.safeParse(named);
    if (!t.success) throw new WebhookError(400, 'invalid_tenant', `"${named.slice(0, 100)}" is not a tenant name`);
    return { tenant: t.data, basic };
  }

  private async verify(source: WebhookSource, tenant: string, basic: { password: string } | null, req: WebhookRequest): Promise<void> {
    const secrets = await this.secrets.candidates(tenant, source);
    const refuse = (code: 'unknown_tenant' | 'missing_signature' | 'bad_signature', message: string): never => {
      this.log.warn({ source, tenant, code }, `webhook refused: ${message}`);
      throw new WebhookError(401, code, message);
    };
    if (secrets.length === 0) refuse('unknown_tenant', `no ${source} webhook secret is set for tenant ${tenant}`);
    if (req.signature !== undefined && req.signature.trim() !== '') {
      if (verifySignature(req.raw, req.signature, secrets) !== 'ok') refuse('bad_signature', 'X-Cadre-Signature does not match the body signed with the tenant\'s secret (HMAC-SHA256, hex: sha256=<hex>)');
      return;
    }
    if (basic) {
      if (!verifyPassword(basic.password, secrets)) refuse('bad_signature', 'the Basic auth password is not the tenant\'s Pipedrive webhook secret');
      return;
    }
    refuse('missing_signature', source === 'pipedrive' ? 'sign the body (X-Cadre-Signature) or set HTTP Basic auth on the Pipedrive webhook' : 'sign the body: X-Cadre-Signature: sha256=<hex HMAC-SHA256 of the raw body>');
  }

  private async commit(source: WebhookSource, tenant: string, plan: Plan): Promise<WebhookResult> {
    const rt = this.rt;
    const at = new Date(rt.clock.now()).toISOString();
    const ref = deliveryRef(source, tenant, plan.deliveryId);
    const messages = await this.absentOnly(tenant, plan.messages);
    const ids = [...messages.map((m) => m.id), ...plan.events.map((e) => e.id)];
    const done = await rt.db.transaction(async (tx) => {
      const [fresh] = await tx.query(
        `INSERT INTO webhook_deliveries (tenant, source, delivery_id, received_at, event, status, outcome, messages)
         VALUES ($1, $2, $3, $4::timestamptz, $5, $6, $7, $8::jsonb) ON CONFLICT DO NOTHING RETURNING delivery_id`,
        [tenant, source, plan.deliveryId, at, plan.event, plan.status, plan.detail, JSON.stringify(ids)],
      );
      if (!fresh) {
        const [seen] = await tx.query<{ status: 'accepted' | 'ignored'; outcome: string }>(
          `SELECT status, outcome FROM webhook_deliveries WHERE tenant = $1 AND source = $2 AND delivery_id = $3`,
          [tenant, source, plan.deliveryId],
        );
        return { duplicate: true as const, status: seen?.status ?? plan.status, detail: seen?.outcome ?? plan.detail };
      }
      const entries: OutboxEntry[] = [];
      const from = `webhook:${source}`;
      for (const m of messages) {
        const message = rt.send.message({ tenant, kind: m.kind, key: m.key }, m.event, { id: m.id, correlationId: ref, causationId: null, from });
        entries.push(await rt.send.enqueue(tx, message));
      }
      for (const e of plan.events) {
        entries.push(await toEvent(tx, rt.subjects, { ...e, tenant, correlationId: ref, causationId: null, source: from, at }, rt.config.maxMessageBytes));
      }
      return { duplicate: false as const, entries };
    });
    if (done.duplicate) {
      this.log.info({ source, tenant, deliveryId: plan.deliveryId }, 'webhook delivery seen before; nothing published');
      return { accepted: true, deliveryId: plan.deliveryId, duplicate: true, outcome: done.status === 'accepted' ? 'queued' : 'ignored', detail: done.detail };
    }
    rt.send.publish(done.entries);
    this.log.info({ source, tenant, deliveryId: plan.deliveryId, event: plan.event, status: plan.status, detail: plan.detail }, 'webhook delivery accepted');
    return { accepted: true, deliveryId: plan.deliveryId, duplicate: false, outcome: plan.status === 'accepted' ? 'queued' : 'ignored', detail: plan.detail };
  }

  /** Drops the "create if absent" commands whose actor exists (made by the webhook earlier, or by other means). */
  private async absentOnly(tenant: string, commands: ActorCommand[]): Promise<ActorCommand[]> {
    const out: ActorCommand[] = [];
    for (const c of commands) {
      if (c.onlyIfAbsent) {
        const [row] = await this.rt.db.query(`SELECT 1 AS x FROM actors WHERE tenant = $1 AND kind = $2 AND key = $3`, [tenant, c.kind, c.key]);
        if (row) continue;
      }
      out.push(c);
    }
    return out;
  }
}

/** Parses the verified body: JSON for every source, url-encoded too for forms. */
function parseBody(source: WebhookSource, req: WebhookRequest): unknown {
  const type = (req.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const text = req.raw.toString('utf8');
  // PostgreSQL's jsonb cannot hold U+0000; the actor would refuse the message later.
  if (text.includes('\u0000') || text.includes('\\u0000')) throw new WebhookError(400, 'invalid_payload', 'the body contains a NUL character (U+0000)');
  if (type === 'application/x-www-form-urlencoded') {
    if (source !== 'form') throw new WebhookError(415, 'unsupported_media_type', `${source} webhooks are JSON (Content-Type: application/json)`);
    return Object.fromEntries(new URLSearchParams(text));
  }
  if (type !== '' && type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type) && type !== 'text/plain') {
    throw new WebhookError(415, 'unsupported_media_type', `Content-Type ${type} is not read; send application/json${source === 'form' ? ' or application/x-www-form-urlencoded' : ''}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new WebhookError(400, 'invalid_payload', `the body is not JSON: ${(err as Error).message}`);
  }
}
