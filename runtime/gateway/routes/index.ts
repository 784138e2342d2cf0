/**
 * The gateway's core routes (docs/gateway.md): actors and dead letters, the
 * approval queue, and governance (audit, autonomy, proposals, the kill switch).
 * @example const app = await buildGateway(rt, { adminToken }, coreRoutes);
 */
import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from '../app.ts';
import { actorRoutes } from './actors.ts';
import { approvalRoutes } from './approvals.ts';
import { governanceRoutes } from './governance.ts';
import { webhookRoutes } from '../webhooks/index.ts';
import { inspectRoutes } from '../inspect/routes.ts';
import { notificationRoutes } from './notifications.ts';
import { agentRoutes } from './agents.ts';

export { actorRoutes } from './actors.ts';
export { approvalRoutes, durationSeconds } from './approvals.ts';
export { governanceRoutes } from './governance.ts';
export { notificationRoutes, notificationRoutesWith } from './notifications.ts';
export { agentRoutes } from './agents.ts';

/** The route functions `buildGateway` registers for the core REST API, each in its own scope. */
export const coreRoutes: ((app: FastifyInstance, o: RouteOptions) => Promise<void>)[] = [
  actorRoutes,
  approvalRoutes,
  governanceRoutes,
  notificationRoutes,
  agentRoutes,
  // Signed by the source, not a bearer token; its raw-body parser stays inside its own scope.
  async (app, o) => {
    await app.register(webhookRoutes, { runtime: o.runtime });
  },
  // A WebSocket (GET /v1/inspect); the token may come as ?token= (docs/inspect.md).
  async (app, o) => {
    await app.register(inspectRoutes, { runtime: o.runtime });
  },
];
