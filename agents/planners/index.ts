/**
 * agents/planners: what decides a run's plan. The rule-based planner runs the
 * job's checks; the Claude planner asks the model with the checks' findings and
 * the agent's tools (agents/tools.ts). `ANTHROPIC_API_KEY` chooses between them.
 */
import { anthropicConfigFromEnv, createAnthropicAdapter } from './anthropic.ts';
import { claudePlanner } from './claude.ts';
import { rulesPlanner } from './rules.ts';
import type { Planner } from '../types.ts';

export type { Planner, Plan, PlanContext, PlannedAction, Check } from '../types.ts';
export { rulesPlanner, runCheck, raceSignal, InvalidPlanError } from './rules.ts';
export {
  claudePlanner,
  ModelError,
  foresight,
  systemPrompt,
  factsMessage,
  type ClaudePlannerOptions,
  type ModelAdapter,
  type ModelSession,
  type ModelTurn,
  type ModelErrorCode,
  type ToolCall,
  type ToolResult,
} from './claude.ts';
export {
  createAnthropicAdapter,
  anthropicConfigFromEnv,
  AnthropicConfigError,
  AnthropicOptions,
  DEFAULT_CLAUDE_MODEL,
  type AnthropicEnvConfig,
} from './anthropic.ts';

/** Where `plannerFromEnv` says which planner it chose (a pino logger fits). */
export interface PlannerLog {
  info(obj: object, msg: string): void;
}

/**
 * The planner the environment asks for: Claude when `ANTHROPIC_API_KEY` is set
 * (with `ANTHROPIC_BASE_URL`, `CADRE_CLAUDE_MODEL`, `CADRE_CLAUDE_TIMEOUT_MS`,
 * `CADRE_CLAUDE_MAX_ROUNDS`), the rule-based planner otherwise. Throws
 * `AnthropicConfigError` naming a bad variable.
 * @example
 * const planner = plannerFromEnv(process.env, log);
 */
export function plannerFromEnv(env: Record<string, string | undefined> = process.env, log?: PlannerLog): Planner {
  const config = anthropicConfigFromEnv(env);
  if (!config) {
    log?.info({ planner: 'rules' }, 'planner: rule-based (ANTHROPIC_API_KEY is not set)');
    return rulesPlanner;
  }
  const adapter = createAnthropicAdapter(config.adapter);
  log?.info(
    { planner: 'claude', model: adapter.model, baseURL: config.adapter.baseURL ?? 'https://api.anthropic.com', maxToolRounds: config.maxToolRounds },
    `planner: Claude (${adapter.model})`,
  );
  return claudePlanner(adapter, { maxToolRounds: config.maxToolRounds });
}
