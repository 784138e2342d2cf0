/**
 * The host side of what leaves an isolate: the one JSON string `collect` returns
 * and the log lines the bootstrap hands over. Nothing here trusts its input: the
 * string is size-checked, parsed without `__proto__` keys, depth-checked and
 * validated with zod; log lines are type-checked and bounded again.
 */
import { z } from 'zod';
import {
  SandboxBadOutputError,
  SandboxMemoryLimitError,
  SandboxOutputTooLargeError,
  SandboxScriptError,
  type SandboxError,
} from './errors.ts';
import { ArtifactSchema, JsonSchema, type Artifact, type JsonValue, type Limits, type LogLine } from './schemas.ts';

/** JSON nested deeper than this is refused. */
export const MAX_OUTPUT_DEPTH = 100;

const EnvelopeSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), output: JsonSchema.optional(), artifacts: z.array(ArtifactSchema) }),
  z.object({
    ok: z.literal(false),
    error: z.object({ name: z.string(), message: z.string() }).optional(),
    violation: z.object({ code: z.enum(['SANDBOX_BAD_OUTPUT', 'SANDBOX_OUTPUT_TOO_LARGE']), message: z.string() }).optional(),
  }),
]);

/** A script's successful outcome. */
export interface ScriptOutput {
  output: JsonValue | undefined;
  artifacts: Artifact[];
}

/**
 * Parses what `collect` returned. Returns the output on success and throws the
 * `SandboxError` that describes any failure.
 */
export function parseEnvelope(raw: unknown, limits: Pick<Limits, 'maxOutputBytes'>): ScriptOutput {
  if (typeof raw !== 'string') throw new SandboxBadOutputError('the script result did not serialise to a JSON string');
  if (Buffer.byteLength(raw, 'utf8') > limits.maxOutputBytes) {
    throw new SandboxOutputTooLargeError(`output exceeds ${limits.maxOutputBytes} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw, dropProtoKeys);
  } catch {
    throw new SandboxBadOutputError('the script result is not valid JSON');
  }
  checkDepth(value, MAX_OUTPUT_DEPTH);
  const parsed = EnvelopeSchema.safeParse(value);
  if (!parsed.success) throw new SandboxBadOutputError(`malformed result: ${summariseIssues(parsed.error)}`);
  const envelope = parsed.data;
  if (envelope.ok) return { output: envelope.output, artifacts: envelope.artifacts };
  throw failureOf(envelope);
}

function failureOf(envelope: { error?: { name: string; message: string }; violation?: { code: string; message: string } }): SandboxError {
  if (envelope.violation?.code === 'SANDBOX_OUTPUT_TOO_LARGE') return new SandboxOutputTooLargeError(envelope.violation.message);
  if (envelope.violation) return new SandboxBadOutputError(envelope.violation.message);
  const error = envelope.error ?? { name: 'Error', message: 'the script failed without saying why' };
  return scriptError(error.name, error.message);
}

// Allocation failures surface inside the isolate as ordinary RangeErrors.
const ALLOCATION_FAILURES = ['Invalid string length', 'Invalid array length', 'Array buffer allocation failed', 'Invalid typed array length'];

/** The error for an exception the script did not catch. */
export function scriptError(name: string, message: string): SandboxError {
  if (name === 'RangeError' && ALLOCATION_FAILURES.some((m) => message.startsWith(m))) {
    return new SandboxMemoryLimitError(`allocation failed: ${message}`);
  }
  return new SandboxScriptError(`${name}: ${message}`);
}

// `__proto__` is the one key whose meaning changes when a caller later assigns it
// (`Object.assign`, `target[key] = value`), so it never leaves the sandbox.
function dropProtoKeys(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

function checkDepth(root: unknown, max: number): void {
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= max) throw new SandboxBadOutputError(`output nests deeper than ${max} levels`);
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
}

/** A short, bounded description of zod issues. */
export function summariseIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ')
    .slice(0, 1000);
}

const LEVELS = new Set(['log', 'info', 'warn', 'error', 'debug']);

/** Collects log lines from an isolate within the job's bounds. */
export class LogSink {
  readonly lines: LogLine[] = [];
  private bytes = 0;
  private truncated = false;

  constructor(private readonly limits: Pick<Limits, 'maxLogBytes' | 'maxLogLines'>) {}

  /** Called by the bootstrap with (level, text); `('truncated', '')` marks truncation. */
  push(level: unknown, text: unknown): void {
    if (level === 'truncated') this.truncated = true;
    if (this.truncated || typeof level !== 'string' || !LEVELS.has(level) || typeof text !== 'string') return;
    if (this.lines.length >= this.limits.maxLogLines) {
      this.truncated = true;
      return;
    }
    const room = this.limits.maxLogBytes - this.bytes;
    let line = text;
    if (Buffer.byteLength(line, 'utf8') > room) {
      line = Buffer.from(line, 'utf8').subarray(0, room).toString('utf8').replace(/\uFFFD$/, '');
      this.truncated = true;
    }
    this.bytes += Buffer.byteLength(line, 'utf8');
    this.lines.push({ level: level as LogLine['level'], text: line });
  }

  /** The captured lines, with a closing marker line if any were dropped. */
  result(): { logs: LogLine[]; logsTruncated: boolean } {
    const logs = [...this.lines];
    if (this.truncated) {
      logs.push({ level: 'warn', text: `[sandbox] logs truncated (limits: ${this.limits.maxLogLines} lines, ${this.limits.maxLogBytes} bytes)` });
    }
    return { logs, logsTruncated: this.truncated };
  }
}
