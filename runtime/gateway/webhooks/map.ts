import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ContactEvent, DealEvent } from '../../../machines/index.ts';
import type { WebhookSource } from './secrets.ts';
import { FormSubmission, N8nPayload, pipedriveChange, type PipedriveChange } from './payloads.ts';
import { WebhookError } from './errors.ts';

/**
 * Pure mapping of verified webhook payloads to what Cadre does with them: events
 * for actors and domain events. No I/O here; runtime/gateway/webhooks/receiver.ts
 * commits the plan (docs/webhooks.md, "Mapping").
 */

/** An event for one actor. */
export interface ActorCommand {
  kind: 'deal' | 'contact';
  key: string;
  event: { type: string; [k: string]: unknown };
  /** The message id (stable: a replay produces the same one, which the actor's deduplication absorbs). */
  id: string;
  /** Send only when the actor does not exist yet (the create that precedes a change to an unseen deal). */
  onlyIfAbsent?: boolean;
}

/** A domain event to publish, `<entity>.<name>` in the catalogue. */
export interface EventCommand {
  id: string;
  entity: string;
  name: string;
  data: Record<string, unknown>;
}

/** What one delivery leads to. */
export interface Plan {
  deliveryId: string;
  /** What the source said happened: `updated.deal`, `form.submitted`, `n8n.error`. */
  event: string;
  status: 'accepted' | 'ignored';
  /** Why it was ignored, or what it leads to. */
  detail: string;
  messages: ActorCommand[];
  events: EventCommand[];
}

/** What the mapping gets besides the payload. */
export interface MapInput {
  source: WebhookSource;
  tenant: string;
  body: unknown;
  /** The raw body, for a delivery id when nothing else gives one. */
  raw: Buffer;
  /** `X-Cadre-Delivery`, if sent. */
  deliveryHeader?: string | undefined;
}

/** Maps a verified payload; throws WebhookError `invalid_payload` when it is not of the source's shape. */
export function mapDelivery(input: MapInput): Plan {
  switch (input.source) {
    case 'pipedrive':
      return mapPipedrive(input);
    case 'form':
      return mapForm(input);
    case 'n8n':
      return mapN8n(input);
  }
}

/**
 * A delivery id usable in message ids: printable ASCII up to 150 characters as
 * is, anything else by its SHA-256.
 */
export function deliveryIdOf(id: string): string {
  return /^[\x21-\x7e]{1,150}$/.test(id) ? id : `sha256:${createHash('sha256').update(id).digest('hex')}`;
}

function fallbackId(input: MapInput): string {
  const h = input.deliveryHeader?.trim();
  if (h) return deliveryIdOf(h);
  return `sha256:${createHash('sha256').update(input.raw).digest('hex')}`;
}

/** The correlation id of a delivery, and the prefix of its message ids. Tenant-qualified: the bus deduplicates ids across tenants. */
export function deliveryRef(source: WebhookSource, tenant: string, deliveryId: string): string {
  return `webhook:${source}:${tenant}:${deliveryId}`;
}

function invalid(source: string, error: z.ZodError | string): WebhookError {
  const detail = typeof error === 'string' ? error : error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  return new WebhookError(400, 'invalid_payload', `the ${source} payload is not one Cadre reads: ${detail.slice(0, 1000)}`);
}

// ---------------------------------------------------------------- form

function mapForm(input: MapInput): Plan {
  const parsed = FormSubmission.safeParse(input.body);
  if (!parsed.success) throw invalid('form', parsed.error);
  const f = parsed.data;
  const own = f.submissionId ?? f.id;
  const deliveryId = own ? deliveryIdOf(own) : fallbackId(input);
  const name = (f.name || [f.firstName, f.lastName].filter(Boolean).join(' ')).slice(0, 200);
  return {
    deliveryId,
    event: 'form.submitted',
    status: 'accepted',
    detail: `lead.qualified (${f.email})`,
    messages: [],
    events: [
      {
        id: deliveryRef('form', input.tenant, deliveryId),
        entity: 'lead',
        name: 'qualified',
        data: { name, email: f.email, company: f.company || null, phone: f.phone || null, message: f.message || null, source: f.source || 'form' },
      },
    ],
  };
}

// ---------------------------------------------------------------- n8n

function mapN8n(input: MapInput): Plan {
  const parsed = N8nPayload.safeParse(input.body);
  if (!parsed.success) throw invalid('n8n', parsed.error);
  const x = parsed.data;
  const deliveryId = x.executionId ? deliveryIdOf(x.executionId) : fallbackId(input);
  if (!x.failed) {
    return { deliveryId, event: `n8n.${x.status}`, status: 'ignored', detail: `execution status "${x.status}" is not an error`, messages: [], events: [] };
  }
  return {
    deliveryId,
    event: 'n8n.error',
    status: 'accepted',
    detail: `automation.error (workflow ${x.workflowId})`,
    messages: [],
    events: [
      {
        id: deliveryRef('n8n', input.tenant, deliveryId),
        entity: 'automation',
        name: 'error',
        data: {
          platform: 'n8n',
          workflowId: x.workflowId,
          workflowName: x.workflowName?.slice(0, 300) ?? null,
          executionId: x.executionId,
          errorMessage: (x.errorMessage ?? 'the workflow failed (n8n sent no message)').slice(0, 5000),
          node: x.node?.slice(0, 300) ?? null,
          url: x.url?.slice(0, 2000) ?? null,
          mode: x.mode?.slice(0, 50) ?? null,
        },
      },
    ],
  };
}

// ---------------------------------------------------------------- pipedrive

function mapPipedrive(input: MapInput): Plan {
  const change = pipedriveChange(input.body);
  if (!change) throw invalid('pipedrive', 'expected webhooks v1 ({ event, meta: { action, object, id }, current, previous }) or v2 ({ meta: { action, entity, entity_id, version }, data, previous })');
  const deliveryId = change.deliveryId ? deliveryIdOf(change.deliveryId) : fallbackId(input);
  const event = `${change.action}.${change.entity}`;
  const ignored = (detail: string): Plan => ({ deliveryId, event, status: 'ignored', detail, messages: [], events: [] });
  if (!/^[0-9A-Za-z_-]{1,90}$/.test(change.entityId)) return ignored(`Pipedrive id "${change.entityId}" cannot name an actor`);
  const key = `PD-${change.entityId}`;
  const ref = deliveryRef('pipedrive', input.tenant, deliveryId);
  const once = `webhook:pipedrive:${input.tenant}`;
  let commands: ActorCommand[] | string;
  if (change.entity === 'deal') commands = dealCommands(change, key, ref, once);
  else if (change.entity === 'person') commands = personCommands(change, key, once);
  else commands = `Pipedrive ${change.entity} events are not followed`;
  if (typeof commands === 'string') return ignored(commands);
  // Each event must be one the actor accepts; one that is not would only become a dead letter.
  for (const c of commands) {
    const schema = c.kind === 'deal' ? DealEvent : ContactEvent;
    const ok = schema.safeParse(c.event);
    if (!ok.success) return ignored(`cannot make ${c.event.type} of it: ${ok.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const names = commands.filter((c) => !c.onlyIfAbsent).map((c) => c.event.type);
  return { deliveryId, event, status: 'accepted', detail: `${names.join(', ')} → ${commands[0]!.kind}/${key}`, messages: commands, events: [] };
}

/**
 * A deal: `create` makes the actor (`deal.create`); a `change` sends what changed:
 * title, value or expected close date → `deal.update`; only the stage →
 * `deal.touch` (movement: Pipedrive's stage ids are not Cadre's stages); status
 * to won → `deal.win` (the actor then publishes `deal.closed`); to lost →
 * `deal.lose`. A change to a deal Cadre has not seen creates it first. Creating,
 * winning and losing happen once per deal, so their message ids name the deal,
 * not the delivery: a second one is a duplicate, not a dead letter.
 */
function dealCommands(c: PipedriveChange, key: string, ref: string, once: string): ActorCommand[] | string {
  const cur = c.current;
  if (!cur) return `${c.action}.deal without the deal`;
  if (c.action !== 'create' && c.action !== 'change') return `${c.action}.deal is not followed (a Cadre deal is never deleted or merged)`;
  const create: ActorCommand = { kind: 'deal', key, id: `${once}:deal:${key}:create`, event: dealCreate(cur, c.entityId) };
  const status = str(cur.status) ?? 'open';
  if (status !== 'open' && status !== 'won' && status !== 'lost') return `the deal's status in Pipedrive is ${status}; Cadre follows open, won and lost deals`;
  const prev = c.previous;
  const changed = (f: string) => prev !== null && f in prev && !same(prev[f], cur[f]);
  const out: ActorCommand[] = [];
  if (c.action === 'create') out.push(create);
  else {
    out.push({ ...create, onlyIfAbsent: true });
    const statusChanged = prev === null || changed('status');
    if (status !== 'open' && !statusChanged) return `the deal is ${status} in Pipedrive; changes after that are not followed`;
    if (status === 'open' && prev !== null && changed('status')) return 'the deal was reopened in Pipedrive; a Cadre deal cannot reopen';
    const update: Record<string, unknown> = {};
    const all = prev === null;
    if (all || changed('title')) if (str(cur.title)) update.title = str(cur.title)!.slice(0, 300);
    if (all || changed('value')) update.value = money(cur.value);
    if (all || changed('expected_close_date')) {
      const d = date(cur.expected_close_date);
      if (d) update.expectedCloseDate = d;
    }
    if (Object.keys(update).length > 0 && (status === 'open' || !all)) out.push({ kind: 'deal', key, id: `${ref}:update`, event: { type: 'deal.update', ...update } });
    else if (changed('stage_id') && status === 'open') out.push({ kind: 'deal', key, id: `${ref}:touch`, event: { type: 'deal.touch', activity: 'note', by: 'pipedrive' } });
  }
  if (status === 'won' && (c.action === 'create' || prev === null || changed('status'))) {
    out.push({ kind: 'deal', key, id: `${once}:deal:${key}:win`, event: { type: 'deal.win' } });
  } else if (status === 'lost' && (c.action === 'create' || prev === null || changed('status'))) {
    const reason = (str(cur.lost_reason) || 'lost in Pipedrive').slice(0, 1000);
    out.push({ kind: 'deal', key, id: `${once}:deal:${key}:lose`, event: { type: 'deal.lose', reason } });
  }
  if (out.every((m) => m.onlyIfAbsent)) return 'no change Cadre follows (title, value, expected close date, stage, status)';
  return out;
}

function dealCreate(cur: Record<string, unknown>, id: string): ActorCommand['event'] {
  const event: ActorCommand['event'] = { type: 'deal.create', title: (str(cur.title) || `Pipedrive deal ${id}`).slice(0, 300), value: money(cur.value) };
  const currency = str(cur.currency);
  if (currency && /^[A-Za-z]{3}$/.test(currency)) event.currency = currency.toUpperCase();
  const d = date(cur.expected_close_date);
  if (d) event.expectedCloseDate = d;
  const contact = personEmail(cur.person_id) ?? personEmail(cur.person);
  if (contact) event.contact = contact;
  const owner = str(cur.owner_name) ?? str((cur.user_id as Record<string, unknown> | null)?.name);
  if (owner) event.owner = owner.slice(0, 200);
  return event;
}

/** A person: `create` makes a contact (`contact.create`); other person events are not followed yet. */
function personCommands(c: PipedriveChange, key: string, once: string): ActorCommand[] | string {
  const cur = c.current;
  if (c.action !== 'create') return `${c.action}.person is not followed (only new persons become contacts)`;
  if (!cur) return 'create.person without the person';
  const name = str(cur.name) || [str(cur.first_name), str(cur.last_name)].filter(Boolean).join(' ');
  if (!name) return 'the person has no name';
  const event: ActorCommand['event'] = { type: 'contact.create', name: name.slice(0, 200) };
  const email = primary(cur.emails ?? cur.email);
  if (email && z.email().safeParse(email).success) event.email = email;
  const phone = primary(cur.phones ?? cur.phone);
  if (phone && phone.length >= 3 && phone.length <= 50) event.phone = phone;
  const account = str(cur.org_name) ?? str((cur.org_id as Record<string, unknown> | null)?.name);
  if (account) event.account = account.slice(0, 200);
  const owner = str(cur.owner_name);
  if (owner) event.owner = owner.slice(0, 200);
  return [{ kind: 'contact', key, id: `${once}:contact:${key}:create`, event }];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function money(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : 0;
  return Number.isFinite(n) && n > 0 ? Math.min(n, 1e12) : 0;
}

function date(v: unknown): string | undefined {
  const s = str(v);
  return s && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)) ? s : undefined;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  // Pipedrive sends numbers as numbers in one place and strings in another.
  if ((typeof a === 'number' || typeof a === 'string') && (typeof b === 'number' || typeof b === 'string')) return String(a) === String(b);
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The primary (or first) value of Pipedrive's `[{ value, primary }]` lists, or a plain string. */
function primary(v: unknown): string | undefined {
  if (typeof v === 'string') return str(v);
  if (!Array.isArray(v)) return undefined;
  const items = v.filter((x): x is { value: unknown; primary?: unknown } => typeof x === 'object' && x !== null && 'value' in x);
  return str((items.find((x) => x.primary === true) ?? items[0])?.value);
}

/** A person's email from v1's expanded `person_id: { email: [...] }` (v2 sends only the id). */
function personEmail(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const email = primary((v as Record<string, unknown>).email);
  return email && email.length <= 200 && z.email().safeParse(email).success ? email : undefined;
}
