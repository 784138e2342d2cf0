import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';
import { createWebSocketReceiver } from '@statelyai/inspect';
import type { Runtime } from '../../runtime/index.ts';
import type { Auth } from '../../runtime/gateway/tokens.ts';
import { inspectRoutes } from '../../runtime/gateway/inspect/routes.ts';
import { startBridge, type Bridge } from '../../runtime/cli/commands/inspect.ts';
import { eventually, runtimeBackends, useEnv } from '../support/runtime.ts';

/**
 * Stands in for the gateway's token check (runtime/gateway/app.ts, which has its own
 * tests): `request.auth` from a fixed map, the token as `Authorization: Bearer` or
 * `?token=`, null without one, so the route's own refusal is what is tested here.
 */
const TOKENS: Record<string, Auth> = {
  'tok-acme': { tenant: 'acme', role: 'viewer', tokenId: 't-acme', instanceAdmin: false },
  'tok-globex': { tenant: 'globex', role: 'operator', tokenId: 't-globex', instanceAdmin: false },
  'tok-admin': { tenant: '*', role: 'admin', tokenId: 'admin', instanceAdmin: true },
};

async function serve(rt: Runtime): Promise<{ app: FastifyInstance; http: string; ws: string }> {
  const app = Fastify();
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request) => {
    const header = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    const query = (request.query as Record<string, unknown>).token;
    const secret = header ?? (typeof query === 'string' ? query : undefined);
    request.auth = (secret && TOKENS[secret]) || null;
  });
  await app.register(inspectRoutes, { runtime: rt });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
}

type Msg = { type: string; sessionId?: string; [k: string]: unknown };
interface Client {
  ws: WebSocket;
  messages: Msg[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Connects and records every message; resolves once open (or once closed, if refused right away). */
function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const messages: Msg[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as Msg));
    ws.on('open', () => resolve({ ws, messages, closed }));
    ws.on('error', reject);
  });
}

const counter = (tenant: string, key: string) => ({ tenant, kind: 'counter', key });
const snapshotOf = (c: Client, sessionId: string) => c.messages.find((m) => m.type === '@xstate.snapshot' && m.sessionId === sessionId);

describe.each(runtimeBackends)('GET /v1/inspect on $name', ({ name, make }) => {
  const env = useEnv(make);
  let app: FastifyInstance | undefined;
  const bridges: Bridge[] = [];
  afterEach(async () => {
    for (const b of bridges.splice(0)) await b.close();
    await app?.close();
    app = undefined;
  });

  it("streams the actor, the event and the snapshot of a transition, to the actor's tenant only", async () => {
    const rt = await env.start();
    const s = await serve(rt);
    app = s.app;
    const acme = await connect(`${s.ws}/v1/inspect?token=tok-acme`);
    const globex = await connect(`${s.ws}/v1/inspect`, { authorization: 'Bearer tok-globex' });
    const reply = await rt.send.send(counter('acme', 'c1'), { type: 'add', i: 1, n: 3 }, { wait: true, from: 'external:test' });
    await eventually(async () => snapshotOf(acme, 'acme/counter/c1'), 10_000, "acme's snapshot");
    expect(acme.messages.map((m) => m.type)).toEqual(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);
    expect(acme.messages[0]).toMatchObject({ sessionId: 'acme/counter/c1', name: 'counter/c1', _version: expect.any(String), definition: expect.stringContaining('"id":"counter"') });
    expect(acme.messages[1]).toMatchObject({ sessionId: 'acme/counter/c1', id: reply.id, sourceId: 'external:test', event: { type: 'add', i: 1, n: 3 } });
    expect(acme.messages[2]).toMatchObject({ sessionId: 'acme/counter/c1', event: { type: 'add' }, snapshot: { value: 'counting', status: 'active', context: { count: 1, sum: 3 } } });

    // The other tenant's stream is live, and has nothing of acme's.
    await rt.send.send(counter('globex', 'g1'), { type: 'add', i: 1 }, { wait: true });
    await eventually(async () => snapshotOf(globex, 'globex/counter/g1'), 10_000, "globex's snapshot");
    await new Promise((r) => setTimeout(r, 100));
    expect(globex.messages.every((m) => m.sessionId?.startsWith('globex/'))).toBe(true);
    expect(acme.messages.every((m) => m.sessionId?.startsWith('acme/'))).toBe(true);
    acme.ws.close();
    globex.ws.close();
    await eventually(async () => Object.keys(rt.inspection.subscribers()).length === 0, 5000, 'subscriptions closed with their sockets');
  });

  it('refuses without a token (4401), for another tenant (4403), and the instance admin without a tenant (4400)', async () => {
    const rt = await env.start();
    const s = await serve(rt);
    app = s.app;
    expect(await (await connect(`${s.ws}/v1/inspect`)).closed).toMatchObject({ code: 4401 });
    expect(await (await connect(`${s.ws}/v1/inspect?token=nope`)).closed).toMatchObject({ code: 4401 });
    expect(await (await connect(`${s.ws}/v1/inspect?token=tok-acme&tenant=globex`)).closed).toMatchObject({ code: 4403 });
    expect(await (await connect(`${s.ws}/v1/inspect?token=tok-admin`)).closed).toMatchObject({ code: 4400 });
    expect(await (await connect(`${s.ws}/v1/inspect?token=tok-acme&kind=a.b`)).closed).toMatchObject({ code: 4400 });

    const admin = await connect(`${s.ws}/v1/inspect?token=tok-admin&tenant=acme&notices=true`);
    await rt.send.send(counter('acme', 'c2'), { type: 'add', i: 1 }, { wait: true });
    await eventually(async () => snapshotOf(admin, 'acme/counter/c2'), 10_000, "acme's snapshot for the instance admin");
    expect(admin.messages[0]).toEqual({ type: 'cadre.inspect.hello', tenant: 'acme', kind: null, key: null });
    admin.ws.close();
  });

  it("is read by @statelyai/inspect's own WebSocket receiver", async () => {
    const rt = await env.start();
    const s = await serve(rt);
    app = s.app;
    const received: Msg[] = [];
    createWebSocketReceiver({ server: `${s.ws}/v1/inspect?token=tok-acme&kind=counter` }).subscribe((ev) => received.push(ev as unknown as Msg));
    let i = 0;
    // The receiver says nothing when it is connected: send until it hears.
    await eventually(async () => {
      await rt.send.send(counter('acme', 'r1'), { type: 'add', i: ++i }, { wait: true });
      await new Promise((r) => setTimeout(r, 50));
      return received.some((m) => m.type === '@xstate.snapshot');
    }, 10_000, 'the receiver to get a snapshot');
    expect(received[0]).toMatchObject({ type: '@xstate.actor', sessionId: 'acme/counter/r1' });
    expect(received.some((m) => m.type === '@xstate.event' && (m.event as { type: string }).type === 'add')).toBe(true);
  });

  // Defined on one backend only (never a skipped test).
  (name.startsWith('embedded') ? it : ((() => undefined) as unknown as typeof it))('cadre inspect bridges the stream to a local page and WebSocket for the Stately inspector', async () => {
    const rt = await env.start();
    const s = await serve(rt);
    app = s.app;
    await expect(startBridge({ url: s.http, token: 'nope' })).rejects.toThrow(/refused the token/);
    const bridge = await startBridge({ url: s.http, token: 'tok-acme' });
    bridges.push(bridge);
    expect(bridge.tenant).toBe('acme');
    expect(bridge.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const page = await fetch(bridge.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('src="https://stately.ai/inspect"');
    expect(html).toContain('@statelyai.connected');
    expect(await status(bridge.url, { host: 'rebound.example' })).toBe(421);

    const local = await connect(bridge.wsUrl);
    await rt.send.send(counter('acme', 'b1'), { type: 'add', i: 1 }, { wait: true });
    await rt.send.send(counter('acme', 'b1'), { type: 'add', i: 2 }, { wait: true });
    await eventually(async () => local.messages.filter((m) => m.type === '@xstate.snapshot').length === 2, 10_000, 'two snapshots through the bridge');
    expect(local.messages.filter((m) => m._version).map((m) => m.type)).toEqual(['@xstate.actor', '@xstate.event', '@xstate.snapshot', '@xstate.event', '@xstate.snapshot']);

    // A page opened later gets the actors seen so far, with their latest snapshot.
    const late = await connect(bridge.wsUrl, { origin: bridge.url.slice(0, -1) });
    await eventually(async () => late.messages.find((m) => m.type === '@xstate.actor'), 5000, 'the replayed actor');
    expect(late.messages.find((m) => m.type === '@xstate.actor')).toMatchObject({ sessionId: 'acme/counter/b1', snapshot: { context: { count: 2 } } });

    // Another site's page cannot read the stream.
    await expect(connect(bridge.wsUrl, { origin: 'https://elsewhere.example' })).rejects.toThrow(/401/);
    local.ws.close();
    late.ws.close();
  });
});

function status(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
