import { autoExecutes, type AutonomyLevel, type RiskClass } from './levels.ts';
import { checkPolicies, type PolicyFacts, type PolicyName } from './policies.ts';

/** What the gate decided for one request. */
export type Decision =
  | { outcome: 'auto' | 'dry_run' | 'approval'; policy: null; reason: string; until: null }
  | { outcome: 'blocked'; policy: PolicyName; reason: string; until: null }
  | { outcome: 'held'; policy: 'rate_limit'; reason: string; until: string };

/** Everything a decision depends on. */
export interface DecisionFacts extends PolicyFacts {
  level: AutonomyLevel;
  levelScope: string;
  risk: RiskClass;
  dryRun: boolean;
  /** The daily limit and today's executions, when the action type has a limit. */
  rate: { perDay: number; used: number } | null;
  now: number;
}

/**
 * The gate's decision, a pure function of its facts: policies first (they can
 * only tighten), then the daily rate limit (holds until the next UTC day), then
 * the level × risk table. Under dry-run an allowed action is recorded as
 * would-have-run instead of running.
 */
export function decide(f: DecisionFacts): Decision {
  const violation = checkPolicies(f);
  if (violation) return { outcome: 'blocked', policy: violation.policy, reason: violation.reason, until: null };
  if (f.rate && f.rate.used >= f.rate.perDay) {
    return {
      outcome: 'held',
      policy: 'rate_limit',
      reason: `the daily limit of ${f.rate.perDay} ${f.actionType} is reached; it may go tomorrow (UTC)`,
      until: nextUtcDay(f.now),
    };
  }
  const rule = `${f.levelScope} is ${f.level}; ${f.actionType} is ${f.risk} risk`;
  if (!autoExecutes(f.level, f.risk)) return { outcome: 'approval', policy: null, reason: `${rule}: a person approves`, until: null };
  if (f.dryRun) return { outcome: 'dry_run', policy: null, reason: `${rule}; dry-run is on: recorded, not run`, until: null };
  return { outcome: 'auto', policy: null, reason: `${rule}: runs on its own`, until: null };
}

/** The start of the next UTC day after `now`, ISO. */
export function nextUtcDay(now: number): string {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)).toISOString();
}

/** The UTC day of `now`, `YYYY-MM-DD`. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}
