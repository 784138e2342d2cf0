/**
 * `GET /v1/inspect`: a WebSocket of the tenant's live inspection events in the
 * @statelyai/inspect format (docs/inspect.md), for the Stately inspector.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { Token } from '../../../bus/index.ts';
import type { Runtime } from '../../runtime.ts';
import { tenantOf } from '../auth.ts';
import type { InspectionSubscription } from '../../inspect/index.ts';

/** Close codes of `/v1/inspect`: 4000 + the HTTP status it stands for. */
export const INSPECT_CLOSE = {
  badRequest: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  /** The gateway or the runtime is stopping. */
  goingAway: 1001,
  internal: 1011,
} as const;

const Query = z.looseObject({
  kind: Token.optional(),
  key: Token.optional(),
  /** `true`: also send Cadre's notices (`cadre.inspect.hello`, `cadre.inspect.dropped`). */
  notices: z.enum(['true', 'false', '1', '0']).optional(),
});

/** Sends in flight on one socket before the subscription's queue takes the lag. */
const MAX_IN_FLIGHT = 256;
const PING_MS = 30_000;

/**
 * The inspection route as a Fastify plugin. It registers @fastify/websocket in its
 * scope unless the app already has it (register that at the root first if other
 * routes need WebSockets too). It reads `request.auth`, set by the gateway's token
 * check, which takes `?token=` on this route since browsers cannot set headers on a
 * WebSocket; a connection without auth is closed with 4401.
 *
 * @example await app.register(inspectRoutes, { runtime });
 */
export const inspectRoutes: FastifyPluginAsync<{ runtime: Runtime }> = async (app, opts) => {
  const sockets = new Set<WebSocket>();
  // Added before @fastify/websocket's own, so clients hear why: 1001, the gateway is stopping.
  app.addHook('preClose', async () => {
    for (const s of sockets) s.close(INSPECT_CLOSE.goingAway, 'the gateway is stopping');
  });
  if (!app.hasDecorator('websocketServer')) await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  app.get(
    '/v1/inspect',
    {
      websocket: true,
      config: { tokenInQuery: true },
      schema: {
        summary: 'Live inspection events (WebSocket)',
        description:
          'A WebSocket of the tenant\'s committed transitions as @statelyai/inspect events (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`). ' +
          'Token as `Authorization: Bearer` or `?token=`; optional `?kind=` and `?key=`; `?notices=true` adds Cadre notices. See docs/inspect.md.',
        tags: ['inspect'],
      },
    },
    (socket, request) => {
      const admitted = admit(request);
      if (!admitted.ok) {
        socket.close(admitted.code, admitted.reason);
        return;
      }
      const { tenant, query } = admitted;
      let sub: InspectionSubscription;
      try {
        sub = opts.runtime.inspection.subscribe({ tenant, kind: query.kind, key: query.key });
      } catch (err) {
        request.log.error({ err }, 'could not subscribe to inspection');
        socket.close(INSPECT_CLOSE.internal, 'inspection is not available');
        return;
      }
      sockets.add(socket);
      const notices = query.notices === 'true' || query.notices === '1';
      let inFlight = 0;
      let reported = 0;
      let alive = true;

      const sent = (err?: Error) => {
        inFlight--;
        if (err) socket.terminate();
        else pump();
      };
      const pump = () => {
        if (socket.readyState !== WebSocket.OPEN) return;
        if (notices && sub.dropped > reported && inFlight < MAX_IN_FLIGHT) {
          reported = sub.dropped;
          inFlight++;
          socket.send(JSON.stringify({ type: 'cadre.inspect.dropped', dropped: reported }), sent);
        }
        while (inFlight < MAX_IN_FLIGHT && sub.pending > 0) {
          for (const ev of sub.take(1)) {
            inFlight++;
            socket.send(JSON.stringify(ev), sent);
          }
        }
      };
      sub.onReadable(pump);
      sub.onClosed(() => socket.close(INSPECT_CLOSE.goingAway, 'the runtime is stopping'));

      const ping = setInterval(() => {
        if (!alive) return socket.terminate();
        alive = false;
        socket.ping();
      }, PING_MS);
      ping.unref();
      socket.on('pong', () => (alive = true));
      socket.on('close', () => {
        clearInterval(ping);
        sockets.delete(socket);
        sub.close();
      });
      // What a client sends is not read; the stream only goes one way.
      socket.on('message', () => {});
      if (notices) socket.send(JSON.stringify({ type: 'cadre.inspect.hello', tenant, kind: query.kind ?? null, key: query.key ?? null }));
      request.log.info({ tenant, kind: query.kind, key: query.key }, 'inspection stream opened');
    },
  );
};

/** Whether a request may inspect, and what: its tenant and filters; else a close code and reason. */
function admit(request: FastifyRequest): { ok: true; tenant: string; query: z.infer<typeof Query> } | { ok: false; code: number; reason: string } {
  if (!request.auth) return { ok: false, code: INSPECT_CLOSE.unauthorized, reason: 'a token is needed: Authorization: Bearer <token> or ?token=' };
  let tenant: string;
  try {
    tenant = tenantOf(request, 'viewer');
  } catch (err) {
    const e = err as { statusCode?: number; message?: string };
    const code = e.statusCode === 401 ? INSPECT_CLOSE.unauthorized : e.statusCode === 403 ? INSPECT_CLOSE.forbidden : INSPECT_CLOSE.badRequest;
    return { ok: false, code, reason: closeReason(e.message ?? 'refused') };
  }
  const q = Query.safeParse(request.query ?? {});
  if (!q.success) {
    return { ok: false, code: INSPECT_CLOSE.badRequest, reason: closeReason(`bad query: ${q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`) };
  }
  return { ok: true, tenant, query: q.data };
}

/** A close reason must fit in 123 bytes. */
function closeReason(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= 123) return text;
  const chars = [...text];
  while (Buffer.byteLength(`${chars.join('')}…`, 'utf8') > 123) chars.pop();
  return `${chars.join('')}…`;
}
