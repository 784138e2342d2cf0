import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake of the Anthropic Messages API: a real HTTP server on 127.0.0.1 speaking
 * its wire format, so the real SDK runs against it. `POST /v1/messages` checks
 * the key (`x-api-key`, or `Authorization: Bearer` as SDK 1.x sends it), the
 * `anthropic-version` header, the body's shape and that every `tool_use` of an
 * assistant turn is answered by a `tool_result` in the next user turn (as the real
 * API does, with a 400). It answers from a script: a queue of replies, each a
 * reply or a function of the request. Every request is recorded.
 */

/** A content block of a response. */
export type FakeBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown };

/** What the fake answers one request with. */
export type FakeReply =
  | { kind: 'message'; content: FakeBlock[]; stopReason?: 'end_turn' | 'tool_use' | 'max_tokens' | 'refusal'; delayMs?: number; model?: string }
  | { kind: 'error'; status: number; type: string; message: string; headers?: Record<string, string>; delayMs?: number };

/** One scripted step: a reply, or a function of the request giving one. */
export type FakeStep = FakeReply | ((req: RecordedRequest) => FakeReply | Promise<FakeReply>);

/** A request as the fake received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body (`undefined` when it was not JSON). */
  body: MessagesBody | undefined;
}

/** The parts of a Messages API request body the tests look at. */
export interface MessagesBody {
  model: string;
  max_tokens: number;
  system?: string | { type: 'text'; text: string }[];
  messages: { role: 'user' | 'assistant'; content: string | WireBlock[] }[];
  tools?: { name: string; description?: string; input_schema: Record<string, unknown> }[];
  [k: string]: unknown;
}

/** A content block of a request message. */
export type WireBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content?: string | { type: 'text'; text: string }[]; is_error?: boolean }
  | { type: string; [k: string]: unknown };

export interface FakeAnthropic {
  /** The base URL to give the SDK (`baseURL`). */
  readonly url: string;
  readonly apiKey: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Appends steps to the script. */
  enqueue(...steps: FakeStep[]): void;
  /** Steps not yet used. */
  pending(): number;
  close(): Promise<void>;
}

/** Replies, for scripts. */
export const reply = {
  /** A text answer that ends the turn. */
  text: (text: string): FakeReply => ({ kind: 'message', content: [{ type: 'text', text }], stopReason: 'end_turn' }),
  /** Tool calls (with optional text before them), `stop_reason: tool_use`. */
  tools: (calls: { id: string; name: string; input: unknown }[], text?: string): FakeReply => ({
    kind: 'message',
    content: [...(text ? [{ type: 'text' as const, text }] : []), ...calls.map((c) => ({ type: 'tool_use' as const, ...c }))],
    stopReason: 'tool_use',
  }),
  /** An API error, e.g. `reply.error(429, 'rate_limit_error', 'slow down')`. */
  error: (status: number, type: string, message: string, headers?: Record<string, string>): FakeReply => ({ kind: 'error', status, type, message, ...(headers ? { headers } : {}) }),
};

/** Versions of the API the SDK versions we know send. */
const API_VERSIONS = ['2023-06-01', '2026-10-21'];

/**
 * Starts a fake on 127.0.0.1 (a free port).
 * @example
 * const fake = await startFakeAnthropic();
 * fake.enqueue(reply.text('Nothing to do.'));
 * const adapter = createAnthropicAdapter({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0 });
 */
export async function startFakeAnthropic(opts: { apiKey?: string } = {}): Promise<FakeAnthropic> {
  const apiKey = opts.apiKey ?? 'sk-ant-test-key';
  const script: FakeStep[] = [];
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let seq = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    const body = parseJson(raw);
    const rec: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: isMessagesBody(body) ? body : undefined };
    requests.push(rec);
    const refused = refuse(req, rec, body, apiKey);
    if (refused) return send(res, refused, ++seq);
    const step = script.shift();
    const r = step === undefined ? reply.error(500, 'api_error', 'fake-anthropic: no scripted reply left') : typeof step === 'function' ? await step(rec) : step;
    if (r.delayMs) {
      const waited = await delay(r.delayMs, res, timers);
      if (!waited) return;
    }
    send(res, r, ++seq, rec.body?.model);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, reply.error(500, 'api_error', `fake-anthropic: ${String(e)}`), ++seq));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    enqueue: (...steps) => void script.push(...steps),
    pending: () => script.length,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The error the real API would answer a malformed or unauthenticated request with, or null. */
function refuse(req: IncomingMessage, rec: RecordedRequest, body: unknown, apiKey: string): FakeReply | null {
  if (req.method !== 'POST' || rec.path.split('?')[0] !== '/v1/messages') return reply.error(404, 'not_found_error', `${req.method} ${rec.path} is not a route of the fake`);
  const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
  const key = req.headers['x-api-key'] ?? bearer;
  if (key !== apiKey) return reply.error(401, 'authentication_error', 'invalid x-api-key');
  const version = req.headers['anthropic-version'];
  if (!version) return reply.error(400, 'invalid_request_error', 'anthropic-version: header is required');
  if (typeof version !== 'string' || !API_VERSIONS.includes(version)) return reply.error(400, 'invalid_request_error', `anthropic-version: unknown version ${String(version)}`);
  if (!String(req.headers['content-type'] ?? '').includes('application/json')) return reply.error(400, 'invalid_request_error', 'content-type must be application/json');
  if (!isMessagesBody(body)) return reply.error(400, 'invalid_request_error', 'the body must be JSON with model, max_tokens and messages');
  const unanswered = unansweredToolUse(body);
  if (unanswered) return reply.error(400, 'invalid_request_error', unanswered);
  return null;
}

/** The real API's rule: the turn after an assistant turn with tool_use blocks answers each with a tool_result. */
function unansweredToolUse(body: MessagesBody): string | null {
  for (const [i, m] of body.messages.entries()) {
    if (m.role !== 'assistant' || typeof m.content === 'string') continue;
    const ids = m.content.flatMap((b) => (b.type === 'tool_use' && typeof b.id === 'string' ? [b.id] : []));
    if (ids.length === 0) continue;
    const next = body.messages[i + 1];
    if (!next) return `messages.${i}: the last message must be a user message`;
    const answered = new Set(typeof next.content === 'string' ? [] : next.content.flatMap((b) => (b.type === 'tool_result' && typeof b.tool_use_id === 'string' ? [b.tool_use_id] : [])));
    const missing = ids.filter((id) => !answered.has(id));
    if (missing.length) return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}`;
  }
  return null;
}

function send(res: ServerResponse, r: FakeReply, seq: number, model?: string): void {
  if (res.headersSent || res.destroyed) return;
  const requestId = `req_fake_${seq}`;
  if (r.kind === 'error') {
    res.writeHead(r.status, { 'content-type': 'application/json', 'request-id': requestId, ...r.headers });
    res.end(JSON.stringify({ type: 'error', error: { type: r.type, message: r.message }, request_id: requestId }));
    return;
  }
  const out = r.content.reduce((n, b) => n + (b.type === 'text' ? b.text.length : JSON.stringify(b.input).length), 0);
  res.writeHead(200, { 'content-type': 'application/json', 'request-id': requestId });
  res.end(
    JSON.stringify({
      id: `msg_fake_${seq}`,
      type: 'message',
      role: 'assistant',
      model: r.model ?? model ?? 'claude-fake',
      content: r.content.map((b) => (b.type === 'text' ? { type: 'text', text: b.text, citations: null } : b)),
      stop_reason: r.stopReason ?? (r.content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn'),
      stop_sequence: null,
      usage: { input_tokens: 100 + seq, output_tokens: Math.ceil(out / 4) + 1 },
    }),
  );
}

/** Waits, unless the client goes away first (a timeout, an abort): then false. */
function delay(ms: number, res: ServerResponse, timers: Set<NodeJS.Timeout>): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      timers.delete(t);
      res.off('close', gone);
      resolve(true);
    }, ms);
    const gone = () => {
      clearTimeout(t);
      timers.delete(t);
      resolve(false);
    };
    timers.add(t);
    res.once('close', gone);
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function isMessagesBody(v: unknown): v is MessagesBody {
  if (!v || typeof v !== 'object') return false;
  const b = v as Record<string, unknown>;
  return typeof b.model === 'string' && typeof b.max_tokens === 'number' && Array.isArray(b.messages) && b.messages.every(isMessage);
}

function isMessage(m: unknown): boolean {
  if (!m || typeof m !== 'object') return false;
  const { role, content } = m as Record<string, unknown>;
  return (role === 'user' || role === 'assistant') && (typeof content === 'string' || (Array.isArray(content) && content.every((b) => !!b && typeof b === 'object' && typeof (b as { type?: unknown }).type === 'string')));
}
