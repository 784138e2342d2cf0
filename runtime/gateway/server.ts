/**
 * The gateway beside a runtime: builds it, listens, and closes it (before the
 * runtime stops: children before parents).
 *
 * Host: `CADRE_HOST`, default `0.0.0.0` (every interface, as in a container; every
 * route but /healthz, /metrics and /docs needs a token). Set `CADRE_HOST=127.0.0.1`
 * to keep it on this machine. Port: `PORT`, default 3000; 0 picks a free one.
 */
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.ts';
import { buildGateway, type RouteOptions } from './app.ts';

/** A module of routes, as `buildGateway` registers them. */
export type RoutePlugin = (app: FastifyInstance, o: RouteOptions) => Promise<void>;

/** What {@link startGateway} takes. */
export interface StartGatewayOptions {
  /** 0 picks a free port. */
  port: number;
  /** @default '0.0.0.0' */
  host?: string;
  /** The instance admin's token (see admin-token.ts). */
  adminToken: string | null;
  routes: RoutePlugin[];
}

/** A listening gateway. */
export interface RunningGateway {
  /** Where to reach it: `http://127.0.0.1:3000` (a wildcard host is shown as the loopback address). */
  url: string;
  /** The address it listens on: `0.0.0.0:3000`. */
  listening: string;
  port: number;
  app: FastifyInstance;
  /** Stops accepting, finishes the requests in flight, closes. Safe to call twice. */
  close(): Promise<void>;
}

/** The default listening host. */
export const DEFAULT_HOST = '0.0.0.0';

/**
 * Builds the gateway on `rt` and listens.
 * @example const gw = await startGateway(rt, { port: 3000, adminToken, routes: [...coreRoutes, adminRoutes, healthRoutes] }); ...; await gw.close();
 */
export async function startGateway(rt: Runtime, opts: StartGatewayOptions): Promise<RunningGateway> {
  const host = opts.host ?? DEFAULT_HOST;
  const app = await buildGateway(rt, { adminToken: opts.adminToken }, opts.routes);
  try {
    await app.listen({ port: opts.port, host });
  } catch (err) {
    await app.close().catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new GatewayListenError(`port ${opts.port} on ${host} is in use; set PORT to another port (0 picks a free one)`, e);
    if (e.code === 'EACCES') throw new GatewayListenError(`no permission to listen on ${host}:${opts.port}; use a port above 1023`, e);
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') throw new GatewayListenError(`cannot listen on ${host}: no such address here (CADRE_HOST)`, e);
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const shown = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${port}`,
    listening: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    app,
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}

/** The gateway could not listen; the message says what to change. */
export class GatewayListenError extends Error {
  readonly code = 'GATEWAY_LISTEN';
  constructor(message: string, options?: { cause?: unknown } | Error) {
    super(message, options instanceof Error ? { cause: options } : options);
    this.name = 'GatewayListenError';
  }
}
