export { buildGateway, problemOf, type GatewayOptions, type RouteOptions } from './app.ts';
export { ApiError } from './errors.ts';
export { Tokens, Role, allows, type Auth, type TokenRow } from './tokens.ts';
export { requireRole, tenantOf, bearer } from './auth.ts';
