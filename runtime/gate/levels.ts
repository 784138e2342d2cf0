import { z } from 'zod';

/** How much an agent may do on its own. */
export const AutonomyLevel = z.enum(['supervised', 'semi_autonomous', 'autonomous']);
/** How much an agent may do on its own. */
export type AutonomyLevel = z.infer<typeof AutonomyLevel>;

/** How much harm an action can do. */
export const RiskClass = z.enum(['low', 'medium', 'high', 'critical']);
/** How much harm an action can do. */
export type RiskClass = z.infer<typeof RiskClass>;

/**
 * The decision table of DESIGN.md: does this level run this risk on its own?
 * Critical actions always wait for a person.
 */
export function autoExecutes(level: AutonomyLevel, risk: RiskClass): boolean {
  if (risk === 'critical') return false;
  if (level === 'autonomous') return true;
  if (level === 'semi_autonomous') return risk === 'low';
  return false;
}

/** The lowest level that runs `risk` on its own, or null for critical (never). */
export function levelThatAutoExecutes(risk: RiskClass): AutonomyLevel | null {
  if (risk === 'critical') return null;
  return risk === 'low' ? 'semi_autonomous' : 'autonomous';
}

/** One configured level: a tenant's row for an agent and an action type, either `*`. */
export type LevelRow = {
  agent: string;
  action_type: string;
  level: AutonomyLevel;
};

/**
 * The level that applies to `agent` doing `actionType`: the most specific row
 * wins, in this order: agent and action type, action type alone, agent alone,
 * the tenant's default (`*`, `*`), then `fallback`. An action type's row beats an
 * agent's: a rule about an action is a statement about that action's danger.
 */
export function resolveLevel(rows: LevelRow[], agent: string, actionType: string, fallback: AutonomyLevel): { level: AutonomyLevel; scope: string } {
  const find = (a: string, t: string) => rows.find((r) => r.agent === a && r.action_type === t);
  const order: [string, string, string][] = [
    [agent, actionType, `agent ${agent}, action ${actionType}`],
    ['*', actionType, `action ${actionType}`],
    [agent, '*', `agent ${agent}`],
    ['*', '*', 'tenant default'],
  ];
  for (const [a, t, scope] of order) {
    const r = find(a, t);
    if (r) return { level: r.level, scope };
  }
  return { level: fallback, scope: 'instance default' };
}
