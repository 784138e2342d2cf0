import type { ActionTypeInfo } from './actions.ts';

/** A policy that stopped an action, with the reason operators read. */
export interface Violation {
  policy: PolicyName;
  reason: string;
}

/** The policies, each of which can only tighten what the autonomy level allows. */
export type PolicyName =
  | 'kill_switch'
  | 'opt_out'
  | 'suppression'
  | 'bulk_send'
  | 'no_human_task'
  | 'research_after_engagement'
  | 'sensitive_data'
  | 'rate_limit';

/** What the policies look at, gathered by the gate before it decides. */
export interface PolicyFacts {
  actionType: string;
  info: ActionTypeInfo;
  params: Record<string, unknown>;
  /** The kill switch: global first, then the tenant's. */
  paused: { scope: 'global' | 'tenant'; reason: string | null } | null;
  /** Recipients of this action found on the tenant's suppression list, with why. */
  suppressed: { address: string; kind: string }[];
  /** Whether any contact of the tenant is past its engagement due date. */
  engagementOverdue: boolean;
  /** Most recipients one outbound action may have. */
  maxRecipients: number;
}

/**
 * The hard guardrails of reference/hourly-cycle-and-policies.md as pure checks,
 * in the order they are applied; the first violation blocks the action.
 * The daily rate limit is not here: it holds an action until the next day
 * instead of blocking it (see `gate/decide.ts`).
 */
export function checkPolicies(f: PolicyFacts): Violation | null {
  if (f.paused) {
    return { policy: 'kill_switch', reason: `the ${f.paused.scope} kill switch is on${f.paused.reason ? `: ${f.paused.reason}` : ''}` };
  }
  if (f.info.outbound) {
    const optedOut = f.suppressed.find((s) => s.kind === 'opt_out');
    if (optedOut) return { policy: 'opt_out', reason: `${optedOut.address} opted out of messages` };
    const other = f.suppressed[0];
    if (other) return { policy: 'suppression', reason: `${other.address} is suppressed (${other.kind})` };
    const count = recipients(f.params).length;
    if (count > f.maxRecipients) {
      return { policy: 'bulk_send', reason: `${count} recipients in one ${f.actionType}; the limit is ${f.maxRecipients} (use a broadcast, which is approved as such)` };
    }
    const secret = findSecret(f.params);
    if (secret) return { policy: 'sensitive_data', reason: `the message contains ${secret}; credentials and card numbers never leave by message` };
  }
  if (f.info.humanTask) {
    const why = humanTaskAllowed(f.params);
    if (why) return { policy: 'no_human_task', reason: why };
  }
  if (f.info.research && f.engagementOverdue) {
    return { policy: 'research_after_engagement', reason: 'engagements are overdue: research waits until the follow-up list is exhausted' };
  }
  return null;
}

/** Every address an outbound action goes to (`to`, `cc`, `bcc`), normalized. */
export function recipients(params: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const field of ['to', 'cc', 'bcc']) {
    const v = params[field];
    const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
    for (const x of list) if (typeof x === 'string' && x.trim()) out.push(normalizeAddress(x));
  }
  return [...new Set(out)];
}

/** Addresses compare case-insensitively, without display names or spaces. */
export function normalizeAddress(address: string): string {
  const angle = /<([^>]+)>/.exec(address);
  return (angle ? angle[1]! : address).trim().toLowerCase();
}

// Words by which a client asks us to do something: "Can you call me Thursday?"
// is a request; "We should call them" is not.
const EXPLICIT_REQUEST =
  /\b(can|could|would|will) you\b|\bplease\b|\b(call|email|ring|text|phone|meet|visit) (me|us)\b|\bi(?:'d| would) like (you|to|a)\b|\blet'?s (schedule|set up|meet|talk|book)\b|\b(schedule|book|set up) (a|an) (call|meeting|visit)\b/i;

/**
 * "No human tasks unless the client explicitly asked": a task needs a trigger,
 * and a client request needs the client's own words that ask for it. Compliance
 * deadlines and safety escalations are the other allowed triggers. Returns the
 * reason to block, or null.
 */
export function humanTaskAllowed(params: Record<string, unknown>): string | null {
  const trigger = params.trigger;
  if (trigger === 'compliance_deadline' || trigger === 'safety_escalation') return null;
  if (trigger !== 'client_request') {
    return 'human tasks are created only when the client asked, a compliance deadline is due or safety needs escalation (params.trigger)';
  }
  const evidence = typeof params.evidence === 'string' ? params.evidence : '';
  if (params.evidenceFrom !== 'client') return 'the request must be in the client\'s own words (params.evidenceFrom: "client")';
  if (!EXPLICIT_REQUEST.test(evidence)) return `the client did not explicitly ask: "${evidence.slice(0, 120)}"`;
  return null;
}

const SECRET_PATTERNS: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, 'an AWS access key'],
  [/\bsk-[A-Za-z0-9_-]{20,}\b/, 'an API key'],
  [/\b(xox[abpr]-[A-Za-z0-9-]{10,}|gh[pousr]_[A-Za-z0-9]{30,})\b/, 'an access token'],
  [/\bpassword\s*[:=]\s*\S+/i, 'a password'],
];

/** Names the kind of secret found anywhere in the params' strings, or null. */
export function findSecret(params: Record<string, unknown>): string | null {
  for (const text of strings(params)) {
    for (const [re, name] of SECRET_PATTERNS) if (re.test(text)) return name;
    for (const m of text.matchAll(/\b(?:\d[ -]?){13,19}\b/g)) if (luhn(m[0].replace(/\D/g, ''))) return 'a card number';
  }
  return null;
}

function* strings(v: unknown, depth = 0): Generator<string> {
  if (depth > 8) return;
  if (typeof v === 'string') yield v;
  else if (Array.isArray(v)) for (const x of v) yield* strings(x, depth + 1);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) yield* strings(x, depth + 1);
}

function luhn(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
