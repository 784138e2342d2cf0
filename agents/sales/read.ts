import type { ReadItem } from '../../runtime/read/index.ts';
import { collect, daysSince, isEmail, ms, num, str } from '../kit/index.ts';
import type { PlanContext } from '../types.ts';

/**
 * What the sales checks read, as typed views over the read side's items
 * (runtime/read; committed snapshots, no actor activated). The contexts are the
 * entity machines' (machines/deal, machines/contact); a field missing from an
 * older snapshot reads as "no value".
 */

/** The stages of an open deal, in order (machines/deal). */
export const STAGES = ['lead', 'qualified', 'proposal', 'negotiation'] as const;
export type Stage = (typeof STAGES)[number];

/** An open or closed deal as the checks see it. */
export interface DealView {
  key: string;
  state: string;
  /** The stage of an open deal (`open.stage.<stage>`), null once closed. */
  stage: Stage | null;
  /** The follow-up region of an open deal: `idle`, `sending.awaitingApproval`, `sent`, …; null once closed. */
  followUp: string | null;
  title: string;
  value: number;
  currency: string;
  /** An email address or a contact's key. */
  contact: string | null;
  owner: string | null;
  expectedCloseDate: string | null;
  createdAt: string | null;
  /** The last movement (stage change, update, touch); the creation until then. */
  lastMovedAt: string | null;
  stalledSince: string | null;
  followedUpAt: string | null;
  closedAt: string | null;
  /** The deal's own follow-up gate status (`awaiting_approval`, `done`, `rejected`, …). */
  followUpGate: string | null;
  stopped: boolean;
}

/** The deal view of a read item. */
export function dealView(i: ReadItem): DealView {
  const c = i.context;
  const stage = /(?:^|\|)open\.stage\.([A-Za-z]+)/.exec(i.state)?.[1] ?? null;
  const followUp = /(?:^|\|)followUp\.([A-Za-z.]+)/.exec(i.state)?.[1] ?? null;
  const gates = (c.gates ?? {}) as Record<string, { status?: unknown } | undefined>;
  const gate = gates.follow_up?.status;
  return {
    key: i.key,
    state: i.state,
    stage: (STAGES as readonly string[]).includes(stage ?? '') ? (stage as Stage) : null,
    followUp,
    title: str(c, 'title') ?? i.key,
    value: num(c, 'value') ?? 0,
    currency: str(c, 'currency') ?? 'USD',
    contact: str(c, 'contact'),
    owner: str(c, 'owner'),
    expectedCloseDate: str(c, 'expectedCloseDate'),
    createdAt: str(c, 'createdAt'),
    lastMovedAt: str(c, 'lastMovedAt') ?? str(c, 'createdAt'),
    stalledSince: str(c, 'stalledSince'),
    followedUpAt: str(c, 'followedUpAt'),
    closedAt: str(c, 'closedAt'),
    followUpGate: typeof gate === 'string' ? gate : null,
    stopped: i.status === 'stopped',
  };
}

/** Whole days since the deal last moved, as of `now`. */
export function daysSinceMove(d: DealView, now: number): number {
  return daysSince(d.lastMovedAt, now);
}

/**
 * Whether the deal's own `followUp` region already took care of this stall: a
 * follow-up is being decided or waits in its gate (`followUp.sending…`, whatever
 * the gate's outcome: a person who rejected it has answered), or one went out
 * after the deal last moved (`followedUpAt`).
 */
export function followUpOf(d: DealView): { by: 'deal'; status: string; at: string | null } | null {
  if (d.followUp !== null && (d.followUp === 'sending' || d.followUp.startsWith('sending.'))) {
    return { by: 'deal', status: d.followUpGate ?? 'deciding', at: null };
  }
  const sent = ms(d.followedUpAt);
  const moved = ms(d.lastMovedAt);
  if (sent !== null && (moved === null || sent >= moved)) return { by: 'deal', status: 'done', at: d.followedUpAt };
  return null;
}

/** All open deals of the tenant (any stage), not stopped by an operator, by key. */
export async function openDeals(ctx: PlanContext): Promise<{ deals: DealView[]; truncated: boolean }> {
  const { items, truncated } = await collect(ctx, (p) => ctx.read.query(ctx.tenant, { kind: 'deal', state: 'open', ...p }));
  return { deals: items.map(dealView).filter((d) => !d.stopped), truncated };
}

/** One deal by key, or null. */
export async function dealByKey(ctx: PlanContext, key: string): Promise<DealView | null> {
  const page = await ctx.read.query(ctx.tenant, { kind: 'deal', where: [{ field: 'key', op: 'eq', value: key }], limit: 1 });
  const item = page.items[0];
  return item ? dealView(item) : null;
}

/** A person to write to, resolved from an email address or a contact's key. */
export interface Recipient {
  /** The reference as given (an email address or a contact key). */
  ref: string;
  email: string | null;
  name: string | null;
  /** The contact actor's key, when there is one. */
  contactKey: string | null;
  account: string | null;
  /** Who owns the relationship (signs what is drafted to them). */
  owner: string | null;
  /** The contact opted out: never write to them. */
  optedOut: boolean;
  archived: boolean;
}

/**
 * Resolves references to people: an email address is looked up among the
 * contacts (by `email`, exactly) to learn their name and whether they opted out;
 * anything else is taken as a contact's key. One query per 100 references of
 * each kind. Unknown keys resolve with no email.
 */
export async function resolveRecipients(ctx: PlanContext, refs: string[]): Promise<Map<string, Recipient>> {
  const out = new Map<string, Recipient>();
  const unique = [...new Set(refs)];
  const emails = unique.filter(isEmail);
  const keys = unique.filter((r) => !isEmail(r) && /^[A-Za-z0-9_-]+$/.test(r));
  for (const e of emails) out.set(e, { ref: e, email: e, name: null, contactKey: null, account: null, owner: null, optedOut: false, archived: false });
  for (const k of unique.filter((r) => !isEmail(r))) out.set(k, { ref: k, email: null, name: null, contactKey: null, account: null, owner: null, optedOut: false, archived: false });
  for (const [field, list] of [['email', emails], ['key', keys]] as const) {
    for (let i = 0; i < list.length; i += 100) {
      const chunk = list.slice(i, i + 100);
      const { items } = await collect(ctx, (p) => ctx.read.query(ctx.tenant, { kind: 'contact', where: [{ field, op: 'in', value: chunk }], ...p }));
      for (const item of items) {
        const c = item.context;
        const ref = field === 'email' ? str(c, 'email') : item.key;
        if (ref === null || !out.has(ref)) continue;
        const email = str(c, 'email');
        out.set(ref, {
          ref,
          email: isEmail(email) ? email : field === 'email' ? ref : null,
          name: str(c, 'name'),
          contactKey: item.key,
          account: str(c, 'account'),
          owner: str(c, 'owner'),
          optedOut: c.optedOut === true,
          archived: item.state === 'archived' || item.state.startsWith('archived.'),
        });
      }
    }
  }
  return out;
}

/** Why nothing may be written to a deal's contact `ref` (no address, opted out, archived), or null when it may. */
export function notWritable(ref: string, r: Recipient | undefined): string | null {
  if (!r || r.email === null) return `contact ${ref} has no email address`;
  if (r.optedOut) return `contact ${ref} opted out`;
  if (r.archived) return `contact ${ref} is archived`;
  return null;
}

/** A contact of an account, as the reactions list them. */
export interface AccountContact {
  key: string;
  name: string;
  email: string | null;
  optedOut: boolean;
  /** Whether its next touch is due (as of `now`). */
  overdue: boolean;
}

/** The contacts of an account (`account` exactly), not archived and not stopped, by key (at most 200). */
export async function contactsAtAccount(ctx: PlanContext, account: string): Promise<AccountContact[]> {
  if (account.length > 1000) return []; // longer than any account the contact schema accepts
  const { items } = await collect(ctx, (p) => ctx.read.query(ctx.tenant, { kind: 'contact', state: 'active', where: [{ field: 'account', op: 'eq', value: account }], ...p }), { cap: 200 });
  return items
    .filter((i) => i.status !== 'stopped')
    .map((i) => {
      const due = ms(str(i.context, 'nextTouchDue'));
      return { key: i.key, name: str(i.context, 'name') ?? i.key, email: str(i.context, 'email'), optedOut: i.context.optedOut === true, overdue: due !== null && due < ctx.now };
    });
}

/** Where an earlier draft of this agent stands: its task actor (agents/task.ts) in flight or settled. */
export interface PriorDraft {
  task: string;
  target: string;
  /** `pending` while deciding, awaiting approval, held or escalated. */
  status: 'pending' | 'done' | 'rejected' | 'expired' | 'blocked' | 'dropped';
  startedAt: string | null;
  settledAt: string | null;
}

const SETTLED = ['done', 'rejected', 'expired', 'blocked', 'dropped'] as const;

/**
 * This agent's earlier drafts of `actionType` for each target (`contact/C-1`,
 * `deal/D-1`), read from the task actors its runs started (kind `task`: `agent`,
 * `actionType`, `target`, `startedAt`, `settledAt`). One query per 100 targets.
 * So a draft still waiting in the approval queue, or one that went out, is not
 * drafted again by the next run: the no-spam rule, one message per person per
 * purpose.
 */
export async function priorDrafts(ctx: PlanContext, actionType: string, targets: string[]): Promise<Map<string, PriorDraft[]>> {
  const out = new Map<string, PriorDraft[]>();
  const unique = [...new Set(targets)].filter((t) => t.length <= 300);
  for (let i = 0; i < unique.length; i += 100) {
    const chunk = unique.slice(i, i + 100);
    const where = [
      { field: 'agent', op: 'eq' as const, value: ctx.agent },
      { field: 'actionType', op: 'eq' as const, value: actionType },
      { field: 'target', op: 'in' as const, value: chunk },
    ];
    const { items } = await collect(ctx, (p) => ctx.read.query(ctx.tenant, { kind: 'task', where, ...p }), { cap: 1000 });
    for (const item of items) {
      const target = str(item.context, 'target');
      if (target === null) continue;
      const top = item.state.split(/[.|]/)[0] ?? '';
      const status = (SETTLED as readonly string[]).includes(top) ? (top as PriorDraft['status']) : 'pending';
      const list = out.get(target) ?? [];
      list.push({ task: item.key, target, status, startedAt: str(item.context, 'startedAt'), settledAt: str(item.context, 'settledAt') });
      out.set(target, list);
    }
  }
  return out;
}

/**
 * The draft that already answers for a target since `since` (ms): one still in
 * flight (whenever it was made), else the latest settled at or after `since` that
 * went out or that a person or a policy turned down. An expired draft does not
 * count: nobody decided, so it is drafted again.
 */
export function answeredBy(drafts: PriorDraft[] | undefined, since: number | null): PriorDraft | null {
  if (!drafts?.length) return null;
  const pending = drafts.find((d) => d.status === 'pending');
  if (pending) return pending;
  const settled = drafts
    .filter((d) => d.status !== 'expired' && (since === null || (ms(d.settledAt) ?? -Infinity) >= since))
    .sort((a, b) => (ms(b.settledAt) ?? 0) - (ms(a.settledAt) ?? 0));
  return settled[0] ?? null;
}
