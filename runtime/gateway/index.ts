export { buildGateway, problemOf, type GatewayOptions, type RouteOptions } from './app.ts';
export { ApiError } from './errors.ts';
export { Tokens, Role, allows, type Auth, type TokenRow } from './tokens.ts';
export { requireRole, tenantOf, bearer } from './auth.ts';
export { startGateway, type RunningGateway } from './server.ts';
export { withTenant } from './tenant-scope.ts';
export { coreRoutes } from './routes/index.ts';
export { tenantDatabase } from './tenant-scope.ts';
