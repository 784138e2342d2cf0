import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';
import { allows, type Auth, type Role } from './tokens.ts';
import { Token } from '../../bus/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; null on the routes that need no token. */
    auth: Auth | null;
  }
  interface FastifyContextConfig {
    /** `false` for routes without a token (/healthz, /metrics, /docs). @default true */
    auth?: boolean;
    /** Routes that also take the token as `?token=` (a browser's WebSocket cannot set headers). */
    tokenInQuery?: boolean;
  }
}

/** The bearer secret of a request: `Authorization: Bearer <secret>`, or `?token=` where the route allows it. */
export function bearer(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (typeof h === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    return m ? m[1]! : null;
  }
  if (request.routeOptions.config?.tokenInQuery) {
    const q = (request.query as Record<string, unknown> | undefined)?.token;
    if (typeof q === 'string') return q;
  }
  return null;
}

/**
 * The caller's role must include `need`; answers 403 otherwise.
 * @example requireRole(request, 'operator');
 */
export function requireRole(request: FastifyRequest, need: Role): Auth {
  const auth = request.auth;
  if (!auth) throw new ApiError(401, 'unauthorized', 'a bearer token is needed: Authorization: Bearer <token>');
  if (!allows(auth.role, need)) throw new ApiError(403, 'forbidden', `this needs the ${need} role; the token is a ${auth.role}`);
  return auth;
}

/**
 * The tenant a request acts on: the token's own. The instance admin names one
 * with the `X-Cadre-Tenant` header (or `tenant` in the query); a tenant token that
 * names another tenant is refused.
 */
export function tenantOf(request: FastifyRequest, need: Role = 'viewer'): string {
  const auth = requireRole(request, need);
  const named = request.headers['x-cadre-tenant'] ?? (request.query as Record<string, unknown> | undefined)?.tenant;
  if (auth.instanceAdmin) {
    if (typeof named !== 'string') throw new ApiError(400, 'tenant_required', 'the instance admin names the tenant: X-Cadre-Tenant: <tenant>');
    const t = Token.safeParse(named);
    if (!t.success) throw new ApiError(400, 'invalid_tenant', `"${named}" is not a tenant name`);
    return t.data;
  }
  if (typeof named === 'string' && named !== auth.tenant) throw new ApiError(403, 'forbidden', `this token belongs to tenant ${auth.tenant}`);
  return auth.tenant;
}
