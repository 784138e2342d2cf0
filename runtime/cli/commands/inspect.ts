/**
 * `cadre inspect`: the local bridge between the gateway's `GET /v1/inspect` and the
 * Stately inspector UI (docs/inspect.md).
 *
 * The Stately inspector is a web page (https://stately.ai/inspect) that receives
 * inspection events by `postMessage` from the window that embeds it, once it has said
 * `@statelyai.connected`. The bridge connects to the gateway with the operator's token
 * (a header, so the token never appears in a URL), and serves on 127.0.0.1:
 *
 * - `/`: a page that embeds the inspector and forwards the events to it;
 * - a WebSocket on the same port speaking @statelyai/inspect's relay protocol (the
 *   one of `createInspectorServer`): every inspection event as one JSON text message,
 *   the actors seen so far replayed to a client that connects late, and what a local
 *   client sends relayed to the others.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { Token } from '../../../bus/index.ts';
import { intOption, parseTenant } from '../args.ts';
import { CommandFailedError, UsageError } from '../errors.ts';
import { line, type OutputOptions } from '../output.ts';

/** Where the Stately inspector UI is. */
export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';

/** What the bridge connects to and where it listens. */
export interface BridgeOptions {
  /** The gateway's base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** A bearer token of the tenant (any role). */
  token: string;
  /** The tenant to inspect; only the instance admin names one. */
  tenant?: string;
  /** Only actors of this kind / with this key. */
  kind?: string;
  key?: string;
  /** Local port; 0 takes a free one. @default 0 */
  port?: number;
  /** The Stately inspector UI the page embeds. @default https://stately.ai/inspect */
  inspectorUrl?: string;
  /** Progress lines (reconnects, dropped events). */
  log?: (text: string) => void;
  /** Most actors remembered for replay to a late page. @default 5000 */
  maxActors?: number;
}

/** A running bridge. */
export interface Bridge {
  /** The page to open: `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** The local WebSocket (the @statelyai/inspect relay protocol). */
  readonly wsUrl: string;
  /** The upstream stream: `ws(s)://…/v1/inspect…` (without the token). */
  readonly upstream: string;
  /** The tenant the gateway streams, as it said when the stream opened. */
  readonly tenant: string;
  /** Resolves when closed; rejects when the gateway refuses the token or the tenant later on. */
  readonly done: Promise<void>;
  /** Stops the bridge. Safe to call twice. */
  close(): Promise<void>;
}

/** Close codes of `/v1/inspect` that retrying cannot fix. */
const FATAL = new Map([
  [4400, 'the gateway refused the request'],
  [4401, 'the gateway refused the token'],
  [4403, 'the token may not inspect this tenant'],
]);

/**
 * Starts the bridge: connects to the gateway (failing at once when the gateway is
 * unreachable or refuses the token), then listens on 127.0.0.1. After that, a lost
 * gateway connection is retried with backoff.
 * @example const b = await startBridge({ url: 'http://127.0.0.1:3000', token }); console.log(b.url);
 */
export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const upstream = upstreamUrl(opts);
  const inspectorUrl = opts.inspectorUrl ?? STATELY_INSPECTOR_URL;
  const inspectorOrigin = new URL(inspectorUrl).origin;
  const log = opts.log ?? (() => {});
  const maxActors = opts.maxActors ?? 5000;
  /** The last `@xstate.actor` of each actor, its snapshot kept current: replayed to a late page. */
  const actors = new Map<string, Record<string, unknown>>();
  let tenant = opts.tenant ?? '';
  let closing = false;
  let upstreamSocket: WebSocket | undefined;
  let retry: NodeJS.Timeout | undefined;
  let finish!: { resolve: () => void; reject: (e: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (finish = { resolve, reject }));
  done.catch(() => {});

  // The local side.
  const server: Server = createServer((req, res) => {
    if (!localHost(req, port())) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('use 127.0.0.1 or localhost\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/' && path !== '/index.html')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY' });
    res.end(bridgePage({ tenant, inspectorUrl, inspectorOrigin }));
  });
  const wss = new WebSocketServer({
    server,
    maxPayload: 1024 * 1024,
    // A web page elsewhere must not read the stream: only this page, or a client that is not a browser.
    verifyClient: ({ req, origin }: { req: IncomingMessage; origin: string }) => localHost(req, port()) && (!origin || sameLocal(origin, port())),
  });
  wss.on('connection', (client) => {
    client.send(JSON.stringify({ type: 'cadre.bridge.status', text: status() }));
    for (const a of actors.values()) client.send(JSON.stringify(a));
    client.on('message', (data: RawData, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      for (const other of wss.clients) if (other !== client && other.readyState === WebSocket.OPEN) other.send(text);
    });
    client.on('error', () => client.terminate());
  });
  const broadcast = (text: string) => {
    for (const c of wss.clients) if (c.readyState === WebSocket.OPEN) c.send(text);
  };
  let state = 'connecting to the gateway';
  const status = () => `${tenant || '?'} · ${state}`;
  const setState = (s: string) => {
    state = s;
    broadcast(JSON.stringify({ type: 'cadre.bridge.status', text: status() }));
  };

  const port = () => (server.address() as AddressInfo | null)?.port ?? 0;

  // The upstream side.
  const onMessage = (data: RawData) => {
    let ev: Record<string, unknown>;
    const text = data.toString();
    try {
      ev = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (ev.type === 'cadre.inspect.hello') {
      if (typeof ev.tenant === 'string') tenant = ev.tenant;
      return;
    }
    if (ev.type === 'cadre.inspect.dropped') {
      log(`the gateway dropped ${String(ev.dropped)} inspection events so far: this bridge or the page did not keep up`);
      return;
    }
    if (typeof ev._version !== 'string' || typeof ev.sessionId !== 'string') return;
    if (ev.type === '@xstate.actor') {
      actors.delete(ev.sessionId);
      actors.set(ev.sessionId, ev);
      if (actors.size > maxActors) actors.delete(actors.keys().next().value!);
    } else if (ev.type === '@xstate.snapshot') {
      const a = actors.get(ev.sessionId);
      if (a) a.snapshot = ev.snapshot;
    }
    broadcast(text);
  };

  /** One connection to the gateway; resolves once it streams, rejects when it fails before that. */
  const connect = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(upstream, { headers: { authorization: `Bearer ${opts.token}` }, handshakeTimeout: 10_000 });
      upstreamSocket = ws;
      let opened = false;
      let settled = false;
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
      ws.on('unexpected-response', (_req, res) => {
        const code = res.statusCode ?? 0;
        const why = code === 401 ? 'the gateway refused the token' : code === 403 ? 'the token may not inspect this tenant' : `the gateway answered HTTP ${code}`;
        settle(new CommandFailedError(`${why} (${upstream.split('?')[0]})`, code >= 400 && code < 500 ? 'INSPECT_REFUSED' : 'INSPECT_FAILED'));
        ws.terminate();
      });
      ws.on('open', () => {
        opened = true;
        setState('live');
        // The gateway says which tenant it streams first thing; do not wait long for it.
        setTimeout(() => settle(), 2000).unref();
      });
      ws.on('message', (data: RawData) => {
        onMessage(data);
        settle();
      });
      ws.on('error', (err) => settle(new CommandFailedError(`cannot connect to the gateway at ${upstream.split('?')[0]}: ${err.message}`, 'INSPECT_UNREACHABLE')));
      ws.on('close', (code, reason) => {
        const fatal = FATAL.get(code);
        const err = fatal
          ? new CommandFailedError(`${fatal}: ${reason.toString() || code}${code === 4400 && /tenant/i.test(reason.toString()) ? ' (add --tenant <tenant>)' : ''}`, code === 4400 ? 'INSPECT_BAD_REQUEST' : 'INSPECT_REFUSED')
          : new CommandFailedError(`the gateway closed the inspection stream (${code}${reason.length ? `: ${reason.toString()}` : ''})`, 'INSPECT_CLOSED');
        if (!opened || !settled) return settle(err); // the attempt failed: its caller decides
        if (closing || upstreamSocket !== ws) return;
        if (fatal) {
          finish.reject(err);
          void close();
          return;
        }
        setState('gateway connection lost; reconnecting');
        log(`${err.message}; reconnecting`);
        void reconnect();
      });
    });

  const reconnect = async () => {
    for (let attempt = 0; !closing; attempt++) {
      await new Promise((r) => (retry = setTimeout(r, Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5)))));
      if (closing) return;
      try {
        await connect();
        log('reconnected to the gateway');
        return;
      } catch (err) {
        if (closing) return;
        const code = (err as CommandFailedError).code;
        if (code === 'INSPECT_REFUSED' || code === 'INSPECT_BAD_REQUEST') {
          finish.reject(err);
          void close();
          return;
        }
        setState(`gateway unreachable; retrying (${(err as Error).message})`);
      }
    }
  };

  const close = async () => {
    if (closing) return;
    closing = true;
    clearTimeout(retry);
    upstreamSocket?.close(1000, 'bridge closing');
    for (const c of wss.clients) c.close(1001, 'bridge closing');
    await new Promise<void>((r) => wss.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    finish.resolve();
  };

  try {
    await connect();
  } catch (err) {
    closing = true;
    upstreamSocket?.terminate();
    throw err;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  }).catch((err: NodeJS.ErrnoException) => {
    void close();
    throw err.code === 'EADDRINUSE' ? new UsageError(`port ${opts.port} is in use on 127.0.0.1; choose another with --port`) : err;
  });
  const url = `http://127.0.0.1:${port()}/`;
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port()}/`,
    upstream,
    get tenant() {
      return tenant;
    },
    done,
    close,
  };
}

/** `ws(s)://<gateway>/v1/inspect?notices=true[&tenant=][&kind=][&key=]` */
function upstreamUrl(opts: BridgeOptions): string {
  let u: URL;
  try {
    u = new URL(opts.url);
  } catch {
    throw new UsageError(`--url "${opts.url}" is not a URL; give the gateway's, e.g. http://127.0.0.1:3000`);
  }
  const scheme = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' }[u.protocol];
  if (!scheme) throw new UsageError(`--url must be http(s)://…, e.g. http://127.0.0.1:3000 (got ${opts.url})`);
  u.protocol = scheme;
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/v1/inspect`;
  u.search = '';
  u.hash = '';
  u.searchParams.set('notices', 'true');
  for (const [k, v] of [['tenant', opts.tenant], ['kind', opts.kind], ['key', opts.key]] as const) {
    if (v === undefined) continue;
    if (!Token.safeParse(v).success) throw new UsageError(`--${k} "${v}" must be letters, digits, "_" or "-"`);
    u.searchParams.set(k, v);
  }
  return u.toString();
}

/** The request was made to this bridge by a loopback name (no DNS rebinding). */
function localHost(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host ?? '';
  return host === `127.0.0.1:${port}` || host === `localhost:${port}` || host === `[::1]:${port}`;
}

function sameLocal(origin: string, port: number): boolean {
  return origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}` || origin === `http://[::1]:${port}`;
}

/** JSON for a `<script>`: nothing in it can close the element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function html(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The page: the inspector in an iframe, fed by `postMessage` with the events from the
 * bridge's WebSocket, buffered until the inspector says `@statelyai.connected`.
 */
export function bridgePage(p: { tenant: string; inspectorUrl: string; inspectorOrigin: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Cadre inspector${p.tenant ? ` · ${html(p.tenant)}` : ''}</title>
<style>
  html, body { margin: 0; height: 100%; font: 13px system-ui, sans-serif; }
  body { display: flex; flex-direction: column; }
  #bar { padding: 4px 10px; background: #1d1f24; color: #d7dae0; }
  #inspector { flex: 1; width: 100%; border: 0; }
</style>
</head>
<body>
<div id="bar">Cadre inspector · <span id="status">connecting…</span></div>
<iframe id="inspector" title="Stately inspector" src="${html(p.inspectorUrl)}"></iframe>
<script>
  const inspectorOrigin = ${scriptJson(p.inspectorOrigin)};
  const frame = document.getElementById('inspector');
  const status = document.getElementById('status');
  const buffer = [];
  let ready = false;
  window.addEventListener('message', (e) => {
    if (e.origin !== inspectorOrigin || !e.data || e.data.type !== '@statelyai.connected') return;
    ready = true;
    for (const m of buffer.splice(0)) frame.contentWindow.postMessage(m, inspectorOrigin);
  });
  function connect() {
    const ws = new WebSocket('ws://' + location.host + '/');
    ws.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      if (ev && ev.type === 'cadre.bridge.status') { status.textContent = ev.text; return; }
      if (!ev || typeof ev._version !== 'string') return;
      if (ready) frame.contentWindow.postMessage(ev, inspectorOrigin);
      else { buffer.push(ev); if (buffer.length > 10000) buffer.shift(); }
    };
    ws.onclose = () => { status.textContent = 'the bridge is not running (cadre inspect); retrying…'; setTimeout(connect, 2000); };
  }
  connect();
</script>
</body>
</html>
`;
}

interface InspectCliOptions extends OutputOptions {
  url?: string;
  token?: string;
  tenant?: string;
  kind?: string;
  key?: string;
  port: number;
  inspectorUrl: string;
}

/** Registers `cadre inspect`. */
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description("watch a tenant's live actors in the Stately inspector (a local bridge to the gateway's /v1/inspect)")
    .option('--url <url>', 'the gateway (default: $CADRE_URL, else http://127.0.0.1:$PORT, PORT defaulting to 3000)')
    .option('--token <token>', 'a bearer token of the tenant, any role (default: $CADRE_TOKEN)')
    .option('--tenant <tenant>', 'the tenant to inspect (only the instance admin names one)', parseTenant)
    .option('--kind <kind>', 'only actors of this kind')
    .option('--key <key>', 'only actors with this key')
    .option('--port <port>', 'local port of the bridge page (0: any free port)', intOption(0, 65535), 0)
    .option('--inspector-url <url>', 'the Stately inspector UI the page embeds', STATELY_INSPECTOR_URL)
    .option('--json', 'print the startup line as JSON')
    .addHelpText('after', `\nExample:\n  CADRE_TOKEN=cdr_… cadre inspect --url http://127.0.0.1:3000 --kind deal\n  then open the printed http://127.0.0.1:<port>/ in a browser.`)
    .action(async (opts: InspectCliOptions) => {
      await inspect(opts);
    });
}

async function inspect(opts: InspectCliOptions): Promise<void> {
  const token = opts.token ?? process.env.CADRE_TOKEN;
  if (!token) throw new UsageError('give a token with --token or CADRE_TOKEN (a token of the tenant, any role; the instance admin adds --tenant)');
  const url = opts.url ?? process.env.CADRE_URL ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}`;
  const bridge = await startBridge({
    url,
    token,
    tenant: opts.tenant,
    kind: opts.kind,
    key: opts.key,
    port: opts.port,
    inspectorUrl: opts.inspectorUrl,
    log: (text) => process.stderr.write(`${text}\n`),
  });
  const onSignal = () => void bridge.close();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (opts.json) {
    line(JSON.stringify({ status: 'running', open: bridge.url, ws: bridge.wsUrl, tenant: bridge.tenant, gateway: bridge.upstream, pid: process.pid }));
  } else {
    line(
      `Inspecting ${bridge.tenant || 'the tenant'}${opts.kind ? ` (${opts.kind}${opts.key ? `/${opts.key}` : ''})` : ''} through ${bridge.upstream.split('?')[0]}. ` +
        `Open ${bridge.url} in a browser (it loads the Stately inspector from ${opts.inspectorUrl}). Stop with Ctrl+C.`,
    );
  }
  try {
    await bridge.done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
