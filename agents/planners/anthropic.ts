// The SDK is loaded on first use (`sdk()`): it costs most of a second to import, and
// processes that never plan with Claude (the CLI, nodes without a key) never pay it.
import type Anthropic from '@anthropic-ai/sdk';
import type { APIError } from '@anthropic-ai/sdk';
import type { ContentBlockParam, MessageParam, Tool as SdkTool, ToolResultBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { z } from 'zod';
import type { ToolSpec } from '../tools.ts';
import { ModelError, type ModelAdapter, type ModelSession, type ModelTurn, type ToolResult } from './claude.ts';

/**
 * The one adapter around `@anthropic-ai/sdk`: nothing else in Cadre imports the
 * SDK or its types. It implements `ModelAdapter` with the Messages API
 * (`messages.create` with `tools`), keeps each conversation's history in the
 * API's format (thinking blocks included, as the API wants them back), and turns
 * the SDK's errors into `ModelError`s naming the cause.
 */

/** The default model: a current Claude Sonnet (`CADRE_CLAUDE_MODEL` changes it). */
export const DEFAULT_CLAUDE_MODEL = 'claude-sonnet-5-5';

/** The options of the adapter, checked once and frozen. */
export const AnthropicOptions = z.object({
  apiKey: z.string().min(1, 'apiKey is required (ANTHROPIC_API_KEY)'),
  /** Another endpoint (a proxy, a test fake). @default https://api.anthropic.com */
  baseURL: z.url().optional(),
  /** @default claude-sonnet-5-5 */
  model: z.string().regex(/^[a-z0-9][a-z0-9.:@_-]{0,99}$/, 'must be a model id such as claude-sonnet-5-5').default(DEFAULT_CLAUDE_MODEL),
  /** The limit of one call, retries apart (ms). @default 30000 */
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /** Retries of a call the SDK deems retryable (429, 5xx, connection errors), with its backoff. @default 2 */
  maxRetries: z.number().int().min(0).max(10).default(2),
  /** The most tokens of one answer (adaptive thinking included). @default 8192 */
  maxTokens: z.number().int().min(1).max(128_000).default(8192),
});
export type AnthropicOptions = z.input<typeof AnthropicOptions>;
type Resolved = Readonly<z.output<typeof AnthropicOptions>>;

/** A bad option or environment variable, named in the message. */
export class AnthropicConfigError extends Error {
  readonly code = 'invalid_anthropic_config';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'AnthropicConfigError';
  }
}

/**
 * The adapter over the Anthropic Messages API.
 * @example
 * const adapter = createAnthropicAdapter({ apiKey: process.env.ANTHROPIC_API_KEY!, model: 'claude-sonnet-5-5' });
 */
export function createAnthropicAdapter(options: AnthropicOptions): ModelAdapter {
  const parsed = AnthropicOptions.safeParse(options);
  if (!parsed.success) throw new AnthropicConfigError(`invalid Anthropic options:\n${z.prettifyError(parsed.error)}`);
  const cfg: Resolved = Object.freeze(parsed.data);
  let client: Promise<Anthropic> | undefined;
  const clientOf = () =>
    (client ??= sdk().then(
      (m) =>
        new m.default({
          apiKey: cfg.apiKey,
          // Explicit, so that no ANTHROPIC_AUTH_TOKEN or ANTHROPIC_BASE_URL of the process changes where the key goes.
          authToken: null,
          baseURL: cfg.baseURL ?? 'https://api.anthropic.com',
          timeout: cfg.timeoutMs,
          maxRetries: cfg.maxRetries,
        }),
    ));
  return Object.freeze({
    model: cfg.model,
    start: (conversation: { system: string; tools: ToolSpec[] }) => new AnthropicSession(clientOf, cfg, conversation.system, conversation.tools.map(sdkTool)),
  });
}

/** One conversation with the Messages API. */
class AnthropicSession implements ModelSession {
  private readonly messages: MessageParam[] = [];
  constructor(
    private readonly client: () => Promise<Anthropic>,
    private readonly cfg: Resolved,
    private readonly system: string,
    private readonly tools: SdkTool[],
  ) {}

  async send(input: string | ToolResult[], opts: { signal: AbortSignal }): Promise<ModelTurn> {
    this.messages.push({ role: 'user', content: typeof input === 'string' ? input : input.map(toolResultBlock) });
    let res: Anthropic.Message;
    const client = await this.client();
    const errors = await sdk();
    try {
      res = await client.messages.create(
        { model: this.cfg.model, max_tokens: this.cfg.maxTokens, system: this.system, messages: this.messages, tools: this.tools },
        { signal: opts.signal, timeout: this.cfg.timeoutMs },
      );
    } catch (e) {
      throw toModelError(e, opts.signal, this.cfg, errors);
    }
    // The answer goes back as it came (thinking blocks included): the API checks them on the next call.
    this.messages.push({ role: 'assistant', content: res.content.map(asParam) });
    const text = res.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n');
    const toolCalls = res.content.flatMap((b) => (b.type === 'tool_use' ? [{ id: b.id, name: b.name, input: b.input }] : []));
    return { text, toolCalls, stopReason: res.stop_reason ?? 'end_turn', usage: { inputTokens: res.usage.input_tokens, outputTokens: res.usage.output_tokens } };
  }
}

function sdkTool(t: ToolSpec): SdkTool {
  return { name: t.name, description: t.description, input_schema: { ...t.inputSchema, type: 'object' } };
}

function toolResultBlock(r: ToolResult): ToolResultBlockParam {
  return { type: 'tool_result', tool_use_id: r.toolCallId, content: r.content, ...(r.isError ? { is_error: true } : {}) };
}

/** A response block as a request block: text without its response-only fields, the others as they are. */
function asParam(block: Anthropic.ContentBlock): ContentBlockParam {
  if (block.type === 'text') return { type: 'text', text: block.text };
  if (block.type === 'tool_use') return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
  return block;
}

/**
 * The SDK's error as a `ModelError` naming its cause. An abort by the run's
 * signal rejects with the signal's reason, as every planner does.
 */
export function toModelError(e: unknown, signal: AbortSignal, cfg: Pick<Resolved, 'timeoutMs' | 'maxRetries' | 'model' | 'baseURL'>, m: Sdk): unknown {
  const { APIError, APIUserAbortError, APIConnectionTimeoutError, APIConnectionError, AuthenticationError, PermissionDeniedError, RateLimitError, NotFoundError, BadRequestError, UnprocessableEntityError } = m;
  if (signal.aborted) return signal.reason;
  if (!(e instanceof APIError)) return e;
  const attempts = cfg.maxRetries > 0 ? ` (after ${cfg.maxRetries + 1} attempts)` : '';
  const detail = apiMessage(e);
  if (e instanceof APIUserAbortError) return new ModelError('connection', `Claude API: the request was aborted${attempts}`, null, { cause: e });
  if (e instanceof APIConnectionTimeoutError) {
    return new ModelError('timeout', `Claude API: no answer within ${cfg.timeoutMs} ms${attempts} (CADRE_CLAUDE_TIMEOUT_MS)`, null, { cause: e });
  }
  if (e instanceof APIConnectionError) {
    const why = e.cause instanceof Error ? `: ${e.cause.message}` : '';
    return new ModelError('connection', `Claude API: could not reach ${cfg.baseURL ?? 'https://api.anthropic.com'}${why}${attempts}`, null, { cause: e });
  }
  const status = e.status ?? null;
  if (e instanceof AuthenticationError) return new ModelError('authentication', `Claude API: the API key was refused (401${detail}); check ANTHROPIC_API_KEY`, status, { cause: e });
  if (e instanceof PermissionDeniedError) return new ModelError('permission', `Claude API: permission denied (403${detail})`, status, { cause: e });
  if (e instanceof RateLimitError) {
    const after = e.headers?.get('retry-after');
    return new ModelError('rate_limited', `Claude API: rate limited (429${detail})${attempts}${after ? `; retry after ${after} s` : ''}`, status, { cause: e });
  }
  if (e instanceof NotFoundError) return new ModelError('not_found', `Claude API: not found (404${detail}); check CADRE_CLAUDE_MODEL ("${cfg.model}")`, status, { cause: e });
  if (e instanceof BadRequestError || e instanceof UnprocessableEntityError) {
    return new ModelError('bad_request', `Claude API: the request was refused (${status}${detail})`, status, { cause: e });
  }
  if (status === 529) return new ModelError('overloaded', `Claude API: overloaded (529${detail})${attempts}`, status, { cause: e });
  if (status !== null && status >= 500) return new ModelError('server_error', `Claude API: server error (${status}${detail})${attempts}`, status, { cause: e });
  return new ModelError('api_error', `Claude API: error (${status ?? 'no status'}${detail})`, status, { cause: e });
}

type Sdk = typeof import('@anthropic-ai/sdk');
let loaded: Promise<Sdk> | undefined;
/** The SDK module, imported once, on first use. */
function sdk(): Promise<Sdk> {
  return (loaded ??= import('@anthropic-ai/sdk'));
}

/** ` invalid_request_error: the message`, from the error body the API sent. */
function apiMessage(e: APIError): string {
  const body: unknown = e.error;
  const inner = body && typeof body === 'object' && 'error' in body ? body.error : undefined;
  const message = inner && typeof inner === 'object' && 'message' in inner && typeof inner.message === 'string' ? inner.message : undefined;
  const type = e.type ?? (inner && typeof inner === 'object' && 'type' in inner && typeof inner.type === 'string' ? inner.type : undefined);
  return [type ? ` ${type}` : '', message ? `: ${message}` : ''].join('');
}

/** The model configuration of the environment. */
export interface AnthropicEnvConfig {
  adapter: AnthropicOptions;
  maxToolRounds: number;
}

/**
 * Reads `ANTHROPIC_API_KEY` (unset or empty: null, the rule-based planner),
 * `ANTHROPIC_BASE_URL`, `CADRE_CLAUDE_MODEL`, `CADRE_CLAUDE_TIMEOUT_MS` and
 * `CADRE_CLAUDE_MAX_ROUNDS`; throws `AnthropicConfigError` naming a bad one.
 */
export function anthropicConfigFromEnv(env: Record<string, string | undefined> = process.env): AnthropicEnvConfig | null {
  const apiKey = env.ANTHROPIC_API_KEY?.trim();
  if (!apiKey) return null;
  const adapter: AnthropicOptions = {
    apiKey,
    ...(env.ANTHROPIC_BASE_URL?.trim() ? { baseURL: env.ANTHROPIC_BASE_URL.trim() } : {}),
    ...(env.CADRE_CLAUDE_MODEL?.trim() ? { model: env.CADRE_CLAUDE_MODEL.trim() } : {}),
    ...(env.CADRE_CLAUDE_TIMEOUT_MS ? { timeoutMs: intFromEnv(env, 'CADRE_CLAUDE_TIMEOUT_MS') } : {}),
  };
  const checked = AnthropicOptions.safeParse(adapter);
  if (!checked.success) {
    const names: Record<string, string> = { baseURL: 'ANTHROPIC_BASE_URL', model: 'CADRE_CLAUDE_MODEL', timeoutMs: 'CADRE_CLAUDE_TIMEOUT_MS' };
    const issue = checked.error.issues[0];
    const name = names[String(issue?.path[0])] ?? 'ANTHROPIC_API_KEY';
    throw new AnthropicConfigError(`${name}: ${issue?.message ?? 'invalid'}`);
  }
  const maxToolRounds = env.CADRE_CLAUDE_MAX_ROUNDS ? intFromEnv(env, 'CADRE_CLAUDE_MAX_ROUNDS') : 8;
  if (maxToolRounds < 1 || maxToolRounds > 50) throw new AnthropicConfigError(`CADRE_CLAUDE_MAX_ROUNDS must be from 1 to 50, got ${maxToolRounds}`);
  return Object.freeze({ adapter: Object.freeze(adapter), maxToolRounds });
}

function intFromEnv(env: Record<string, string | undefined>, name: string): number {
  const raw = env[name]?.trim() ?? '';
  if (!/^\d+$/.test(raw)) throw new AnthropicConfigError(`${name} must be a whole number, got "${env[name]}"`);
  return Number(raw);
}
