/**
 * Script jobs as stored and as returned: the record types, the mapping from rows,
 * and the preparation of values for jsonb and text columns.
 */
import { createHash } from 'node:crypto';
import type { JsonValue, LogLine, ScriptInput } from '../../sandbox/index.ts';
import type { Row } from '../store/index.ts';
import type { ScriptJobReasonCode } from './errors.ts';

/** A job's status: `queued` (waiting for a sandbox process), `running`, `succeeded` or `failed`. */
export type ScriptJobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** Why a job failed. `retryable`: running it again may succeed. */
export interface ScriptJobReason {
  code: ScriptJobReasonCode;
  message: string;
  retryable: boolean;
}

/** A file a job produced, as stored. `size` is in UTF-8 bytes. */
export interface StoredArtifact {
  name: string;
  mediaType: string;
  size: number;
  text: string;
}

/** Where a job's time went. Times are ISO strings of the runtime clock; durations in ms. */
export interface ScriptJobTiming {
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Past this time no live process can still be running the job. */
  deadlineAt: string | null;
  cpuMs: number | null;
  wallMs: number | null;
  isolateStartMs: number | null;
  heapUsedBytes: number | null;
}

/** A job as `list` shows it. */
export interface ScriptJobSummary {
  tenant: string;
  id: string;
  kind: 'template' | 'custom';
  template: string | null;
  status: ScriptJobStatus;
  attempts: number;
  reason: ScriptJobReason | null;
  timing: ScriptJobTiming;
  /** An actor address, or `operator:<name>`. */
  requestedBy: string;
  effectId: string | null;
  nodeId: string;
}

/** A job with everything stored about it. */
export interface ScriptJobRecord extends ScriptJobSummary {
  code: string | null;
  params: JsonValue;
  /** The inputs, or one summary per input when `inputsSummarised`. */
  inputs: JsonValue;
  inputsSummarised: boolean;
  inputsBytes: number;
  limits: JsonValue | null;
  output: JsonValue | null;
  logs: LogLine[];
  logsTruncated: boolean;
  artifacts: StoredArtifact[];
}

/** Columns `list` reads. */
export const SUMMARY_COLUMNS =
  'tenant, id, kind, template, status, attempts, reason_code, reason, reason_retryable, queued_at, started_at, finished_at, deadline_at, cpu_ms, wall_ms, isolate_start_ms, heap_used_bytes, requested_by, effect_id, node_id';

/** Columns `get` reads. */
export const RECORD_COLUMNS = `${SUMMARY_COLUMNS}, code, params, inputs, inputs_summarised, inputs_bytes, limits, output, logs, logs_truncated`;

const iso = (v: unknown): string | null => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** A row of SUMMARY_COLUMNS as a summary. */
export function toSummary(r: Row): ScriptJobSummary {
  return {
    tenant: String(r.tenant),
    id: String(r.id),
    kind: r.kind as ScriptJobSummary['kind'],
    template: (r.template as string | null) ?? null,
    status: r.status as ScriptJobStatus,
    attempts: Number(r.attempts),
    reason:
      r.reason_code === null || r.reason_code === undefined
        ? null
        : { code: r.reason_code as ScriptJobReasonCode, message: String(r.reason ?? ''), retryable: Boolean(r.reason_retryable) },
    timing: {
      queuedAt: iso(r.queued_at)!,
      startedAt: iso(r.started_at),
      finishedAt: iso(r.finished_at),
      deadlineAt: iso(r.deadline_at),
      cpuMs: num(r.cpu_ms),
      wallMs: num(r.wall_ms),
      isolateStartMs: num(r.isolate_start_ms),
      heapUsedBytes: num(r.heap_used_bytes),
    },
    requestedBy: String(r.requested_by),
    effectId: (r.effect_id as string | null) ?? null,
    nodeId: String(r.node_id),
  };
}

/** A row of RECORD_COLUMNS and its artifact rows as a record. */
export function toRecord(r: Row, artifacts: Row[]): ScriptJobRecord {
  return {
    ...toSummary(r),
    code: (r.code as string | null) ?? null,
    params: r.params as JsonValue,
    inputs: r.inputs as JsonValue,
    inputsSummarised: Boolean(r.inputs_summarised),
    inputsBytes: Number(r.inputs_bytes),
    limits: (r.limits as JsonValue | null) ?? null,
    output: (r.output as JsonValue | null) ?? null,
    logs: (r.logs as LogLine[]) ?? [],
    logsTruncated: Boolean(r.logs_truncated),
    artifacts: artifacts.map((a) => ({ name: String(a.name), mediaType: String(a.media_type), size: Number(a.size), text: String(a.content) })),
  };
}

// PostgreSQL's text and jsonb hold neither U+0000 nor unpaired surrogates.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` with what PostgreSQL cannot store (U+0000, unpaired surrogates) replaced by U+FFFD. */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE, '\ufffd');
}

/**
 * A value as jsonb text: plain JSON (anything JSON.stringify drops is dropped, and a
 * value it cannot write becomes `null`), with every string and key made storable.
 */
export function storableJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? storableText(v) : v));
  } catch {
    text = undefined;
  }
  if (text === undefined) return 'null';
  // Keys do not pass through the replacer. JSON.stringify writes U+0000 and unpaired
  // surrogates in keys as \u escapes (paired ones verbatim), which jsonb refuses.
  return text.replace(/(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi, '$1\\ufffd');
}

/** How inputs are stored: as given when small, else one summary per input. */
export interface StoredInputs {
  json: string;
  summarised: boolean;
  bytes: number;
}

/** The inputs to store for a job, capped at `maxBytes` in total. */
export function storedInputs(inputs: unknown, maxBytes: number): StoredInputs {
  const list: ScriptInput[] = Array.isArray(inputs) ? (inputs as ScriptInput[]) : [];
  const sized = list.map((input) => ({ input, content: contentOf(input) }));
  const bytes = sized.reduce((n, s) => n + s.content.length, 0);
  if (bytes <= maxBytes) return { json: storableJson(list), summarised: false, bytes };
  const summaries = sized.map(({ input, content }) => ({
    kind: String(input?.kind),
    name: String(input?.name),
    ...(input?.kind === 'file' && input.mediaType ? { mediaType: input.mediaType } : {}),
    bytes: content.length,
    sha256: createHash('sha256').update(content).digest('hex'),
  }));
  return { json: storableJson(summaries), summarised: true, bytes };
}

function contentOf(input: ScriptInput | undefined): Buffer {
  if (input === null || typeof input !== 'object') return Buffer.alloc(0);
  if (input.kind === 'json') return Buffer.from(JSON.stringify(input.value) ?? 'null', 'utf8');
  if (input.kind === 'file' && typeof input.base64 === 'string') return Buffer.from(input.base64, 'base64');
  return Buffer.from(typeof input.text === 'string' ? input.text : '', 'utf8');
}
