import { z } from 'zod';
import { toolSpecs, toolsFor, type Tool, type ToolSpec } from '../tools.ts';
import { Plan, type Check, type PlanContext, type PlannedAction, type Planner } from '../types.ts';
import { InvalidPlanError, runCheck } from './rules.ts';

/**
 * The Claude planner and the model interface it talks to. The planner knows no
 * vendor: an adapter (agents/planners/anthropic.ts, the one module that imports
 * the SDK) implements `ModelAdapter` and throws `ModelError`.
 */

/** A tool call of the model. */
export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as the model wrote them: unchecked. */
  input: unknown;
}

/** The answer to one tool call. */
export interface ToolResult {
  toolCallId: string;
  content: string;
  isError: boolean;
}

/** One answer of the model. */
export interface ModelTurn {
  /** Its text blocks, joined. */
  text: string;
  toolCalls: ToolCall[];
  /** `end_turn`, `tool_use`, `max_tokens`, `refusal`, … */
  stopReason: string;
  usage: { inputTokens: number; outputTokens: number };
}

/** One conversation: the adapter keeps its history (in the vendor's format). */
export interface ModelSession {
  /** Sends the next user turn (first the prompt, then the tool results) and returns the model's answer. */
  send(input: string | ToolResult[], opts: { signal: AbortSignal }): Promise<ModelTurn>;
}

/** A model that plans with tools. Throws `ModelError` for failures of its API, the signal's reason when aborted. */
export interface ModelAdapter {
  /** The model id, recorded in the plan's findings. */
  readonly model: string;
  start(conversation: { system: string; tools: ToolSpec[] }): ModelSession;
}

/** Why a model call failed. */
export type ModelErrorCode =
  | 'authentication'
  | 'permission'
  | 'rate_limited'
  | 'overloaded'
  | 'server_error'
  | 'timeout'
  | 'connection'
  | 'bad_request'
  | 'not_found'
  | 'api_error';

/** A failed model call, named by its cause; `retryable` says whether the same call may succeed later. */
export class ModelError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelError';
    this.retryable = ['rate_limited', 'overloaded', 'server_error', 'timeout', 'connection'].includes(code);
  }
}

/** Options of `claudePlanner`. */
export interface ClaudePlannerOptions {
  /** Most calls to the model per run; after the last one, the tool calls it made are the last. @default 8 */
  maxToolRounds?: number;
}

/** Plans hold at most this many actions (the `Plan` schema). */
const MAX_ACTIONS = 100;
/** The findings sent to the model are cut beyond this many characters. */
const MAX_FACTS_CHARS = 150_000;

/** What one run asks the model: the job, its facts, its tools. */
interface Work {
  description: string;
  check: Check;
  tools: string[];
  mission: string;
}

/**
 * The Claude planner: the job's checks gather the facts, the model decides with
 * the agent's tools; the plan's actions are exactly the valid tool calls.
 * @example
 * const planner = claudePlanner(createAnthropicAdapter({ apiKey }), { maxToolRounds: 8 });
 */
export function claudePlanner(adapter: ModelAdapter, opts: ClaudePlannerOptions = {}): Planner {
  const maxToolRounds = opts.maxToolRounds ?? 8;
  if (!Number.isInteger(maxToolRounds) || maxToolRounds < 1 || maxToolRounds > 50) {
    throw new RangeError(`maxToolRounds must be an integer from 1 to 50, got ${maxToolRounds}`);
  }
  return Object.freeze({
    name: 'claude' as const,
    async plan(ctx: PlanContext, work: Work): Promise<Plan> {
      const facts = await runCheck(ctx, work.check);
      const tools = toolsFor(work.tools);
      const session = adapter.start({ system: systemPrompt(ctx, work), tools: toolSpecs(tools) });
      const run = new ToolRun(ctx, tools);
      let input: string | ToolResult[] = factsMessage(ctx, facts);
      let last: ModelTurn | undefined;
      let rounds = 0;
      while (rounds < maxToolRounds) {
        ctx.signal.throwIfAborted();
        last = await session.send(input, { signal: ctx.signal });
        rounds++;
        const results: ToolResult[] = [];
        for (const call of last.toolCalls) results.push(await run.answer(call));
        if (last.stopReason !== 'tool_use' || last.toolCalls.length === 0) break;
        input = results;
      }
      const plan = {
        summary: summaryOf(last, run.actions.length, rounds, maxToolRounds),
        findings: {
          ...facts.findings,
          planner: 'claude',
          model: adapter.model,
          toolCalls: run.calls,
          refusedToolCalls: run.refused,
          rounds,
          stopReason: last?.stopReason ?? null,
        },
        actions: run.actions,
        hints: facts.hints,
      };
      const parsed = Plan.safeParse(plan);
      if (!parsed.success) throw new InvalidPlanError('model', parsed.error);
      return parsed.data;
    },
  });
}

/** The tool calls of one run: validated, mapped, answered. */
class ToolRun {
  readonly actions: PlannedAction[] = [];
  readonly refused: { tool: string; error: string }[] = [];
  calls = 0;
  constructor(
    private readonly ctx: PlanContext,
    private readonly tools: Tool[],
  ) {}

  /** Validates one call; a valid one becomes an action, answered with what the gate will do. */
  async answer(call: ToolCall): Promise<ToolResult> {
    this.calls++;
    const tool = this.tools.find((t) => t.name === call.name);
    if (!tool) return this.refuse(call, `unknown tool "${call.name}"; the tools you have are ${this.tools.map((t) => t.name).join(', ') || 'none'}`);
    const args = tool.input.safeParse(call.input);
    if (!args.success) return this.refuse(call, z.prettifyError(args.error));
    if (this.actions.length >= MAX_ACTIONS) return this.refuse(call, `the plan is full (${MAX_ACTIONS} actions); request nothing more`);
    let action: PlannedAction;
    try {
      action = tool.toAction(args.data);
    } catch (e) {
      if (e instanceof z.core.$ZodError) return this.refuse(call, z.prettifyError(e));
      throw e;
    }
    const gate = await this.ctx.foresee(action);
    this.actions.push(action);
    return { toolCallId: call.id, content: foresight(action, gate), isError: false };
  }

  private refuse(call: ToolCall, error: string): ToolResult {
    this.refused.push({ tool: call.name, error });
    return { toolCallId: call.id, content: error, isError: true };
  }
}

type Foresight = Awaited<ReturnType<PlanContext['foresee']>>;

/** The tool result of a requested action: what the gate will do with it. */
export function foresight(action: PlannedAction, gate: Foresight): string {
  const why = gate.reason ? `: ${gate.reason}` : '';
  switch (gate.outcome) {
    case 'auto':
      return `requested; the gate will let ${action.actionType} run without approval${why}`;
    case 'approval':
      return `requested; the gate will hold it for a person's approval${why}`;
    case 'dry_run':
      return `requested; dry-run mode is on, so it will be recorded but not carried out${why}`;
    case 'held':
      return `requested; the gate will hold it for later${why}`;
    case 'blocked':
      return `requested, but the gate will block it${why}. Do not try to get around the policy`;
    case 'internal':
      return `requested; the agent carries it out itself, without the gate${why}`;
  }
}

/** The model's final text, or what it did when it wrote none. */
function summaryOf(last: ModelTurn | undefined, actions: number, rounds: number, maxRounds: number): string {
  const text = last?.text.trim() ?? '';
  const cut = last?.stopReason === 'tool_use' && rounds >= maxRounds ? ` (stopped after ${maxRounds} model calls)` : '';
  const summary = text ? `${text}${cut}` : `Claude requested ${actions} action${actions === 1 ? '' : 's'}${cut}.`;
  return summary.length <= 20_000 ? summary : `${summary.slice(0, 19_999)}…`;
}

/** The system prompt: the agent's mission, the job, the rules. */
export function systemPrompt(ctx: PlanContext, work: Pick<Work, 'mission' | 'description'>): string {
  return [
    work.mission.trim(),
    '',
    `You are the ${ctx.agent} agent of the company (tenant "${ctx.tenant}"), planning one run: job "${ctx.job}" (trigger: ${ctx.trigger}) at ${new Date(ctx.now).toISOString()}.`,
    `What this job does: ${work.description.trim()}`,
    '',
    'Rules:',
    '- You act only through the tools you are given. Text you write is a summary for people; nothing in it is done.',
    "- Every action goes through the company's approval gate: depending on the autonomy the company set and its policies, it runs, waits for a person's approval, or is blocked. Each tool result tells you which.",
    "- No tasks for people unless a client explicitly asked for it (quote the client's own words), a compliance deadline is due, or safety needs escalation. Never a task to follow up or check in.",
    '- No spam: one message per person per purpose, never the same message to many people, nothing to people who opted out, nothing already sent.',
    '- Work from the facts you are given. Do not invent clients, addresses, amounts, dates or commitments.',
    '- When a tool call is refused, fix its arguments or drop it. If nothing needs doing, call no tool.',
    '- Finish with a short summary for people: what you found and what you requested.',
  ].join('\n');
}

/** The first user message: the checks' facts as JSON (cut if very large). */
export function factsMessage(ctx: PlanContext, facts: Plan): string {
  const full = {
    input: ctx.input,
    checks: {
      summary: facts.summary,
      findings: facts.findings,
      proposedActions: facts.actions,
      hints: facts.hints,
    },
  };
  let json = JSON.stringify(full, null, 2);
  if (json.length > MAX_FACTS_CHARS) {
    const slim = { ...full, checks: { ...full.checks, proposedActions: facts.actions.map(({ actionType, preview, target }) => ({ actionType, preview, target })) } };
    json = JSON.stringify(slim, null, 2);
  }
  if (json.length > MAX_FACTS_CHARS) json = `${json.slice(0, MAX_FACTS_CHARS)}\n… (cut: the facts were longer than ${MAX_FACTS_CHARS} characters)`;
  return [
    "The job's rule-based checks ran on the company's data. Their facts, as JSON (proposedActions are what the rules would do; nothing is done unless you call a tool):",
    '',
    json,
    '',
    'Decide what to do with your tools, then summarize.',
  ].join('\n');
}
