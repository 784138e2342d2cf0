/**
 * `GET /healthz` and `GET /metrics`, without a token.
 *
 * `/healthz` is liveness and readiness in one: 200 `{status: 'ok', checks}` when
 * the runtime is running, PostgreSQL answers a query (`SELECT 1`) and the bus
 * answers (NATS: a round trip to the server and JetStream's account info; the
 * in-process bus: it is started); otherwise 503 `{status: 'unavailable', checks}`
 * where each failed check has `ok: false` and its `error`. Each check gives up
 * after `HEALTH_TIMEOUT_MS`, so an unreachable service answers 503, never a hang.
 *
 * `/metrics` is the Prometheus text format from the gateway's own registry
 * (runtime/gateway/metrics.ts lists the names).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteOptions } from '../app.ts';
import type { Runtime } from '../../runtime.ts';
import { createMetrics } from '../metrics.ts';

/** How long one health check may take before it counts as failed. */
export const HEALTH_TIMEOUT_MS = 2000;

const Check = z.object({
  ok: z.boolean(),
  latencyMs: z.number().optional(),
  error: z.string().optional(),
  kind: z.string().optional().describe('database: postgres or pglite; bus: nats or memory'),
  state: z.string().optional().describe('runtime: initialized, starting, running, stopping, stopped, failed'),
});
const Health = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.object({ runtime: Check, database: Check, bus: Check }),
});
/** The body of `/healthz`. */
export type Health = z.infer<typeof Health>;

async function timed(what: string, ms: number, probe: () => Promise<{ ok: boolean; latencyMs: number; error?: string }>): Promise<z.infer<typeof Check>> {
  let timer: NodeJS.Timeout | undefined;
  const started = performance.now();
  const timeout = new Promise<{ ok: boolean; latencyMs: number; error: string }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, latencyMs: ms, error: `${what} did not answer within ${ms} ms` }), ms);
  });
  try {
    const r = await Promise.race([probe(), timeout]);
    return r.ok ? { ok: true, latencyMs: round(r.latencyMs) } : { ok: false, latencyMs: round(r.latencyMs), error: r.error ?? `${what} failed` };
  } catch (err) {
    return { ok: false, latencyMs: round(performance.now() - started), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * The runtime's health: the runtime's state, the database and the bus.
 * @example const h = await checkHealth(rt); // { status: 'ok', checks: { runtime: {...}, database: {...}, bus: {...} } }
 */
export async function checkHealth(rt: Runtime, timeoutMs = HEALTH_TIMEOUT_MS): Promise<Health> {
  const running = rt.state === 'running';
  const [database, bus] = await Promise.all([
    rt.db ? timed('PostgreSQL', timeoutMs, () => rt.db.ping()) : Promise.resolve({ ok: false, error: 'not opened' }),
    rt.bus ? timed(rt.bus.kind === 'nats' ? 'NATS' : 'the bus', timeoutMs, () => rt.bus.ping()) : Promise.resolve({ ok: false, error: 'not opened' }),
  ]);
  const checks = {
    runtime: running ? { ok: true, state: rt.state } : { ok: false, state: rt.state, error: `the runtime is ${rt.state}` },
    database: { ...database, kind: rt.db?.kind ?? (rt.config.databaseUrl ? 'postgres' : 'pglite') },
    bus: { ...bus, kind: rt.bus?.kind ?? (rt.config.natsUrl ? 'nats' : 'memory') },
  };
  const ok = checks.runtime.ok && checks.database.ok && checks.bus.ok;
  return { status: ok ? 'ok' : 'unavailable', checks };
}

/** `/healthz`, `/metrics`. */
export async function healthRoutes(app: FastifyInstance, { runtime: rt }: RouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const registry = createMetrics(rt);

  r.get('/healthz', {
    config: { auth: false },
    schema: {
      summary: 'Liveness and readiness: the runtime, PostgreSQL and the bus (NATS)',
      tags: ['health'],
      security: [],
      response: { 200: Health, 503: Health },
    },
  }, async (_request, reply) => {
    const h = await checkHealth(rt);
    reply.header('cache-control', 'no-store');
    return reply.status(h.status === 'ok' ? 200 : 503).send(h);
  });

  r.get('/metrics', {
    config: { auth: false },
    schema: {
      summary: 'Prometheus metrics (text format)',
      tags: ['health'],
      security: [],
    },
  }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.header('cache-control', 'no-store').type(registry.contentType).send(text);
  });
}
