/**
 * Tenants and tokens (admin):
 *
 * - `POST /v1/tenants` `{tenant, name}`: the instance admin only. 201 when made,
 *   200 when the tenant existed (its name is kept). Either way the tenant's agents
 *   have their schedules afterwards (`rt.agents.ensureTenant`).
 * - `GET /v1/tenants`: the instance admin sees every tenant; a tenant's token its own.
 * - `POST /v1/tokens` `{role, name, tenant?}`: an admin of the tenant, or the instance
 *   admin naming the tenant (in the body, `X-Cadre-Tenant` or `?tenant=`). Answers
 *   201 with the secret: the only time it is shown. The tenant must exist.
 * - `GET /v1/tokens`: an admin; a tenant's admin sees its tenant's tokens, the
 *   instance admin every tenant's or the one it names. Never the secrets.
 * - `DELETE /v1/tokens/{id}`: an admin; revoked at once (every request checks its
 *   token in the database). Another tenant's token is answered 404.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Token } from '../../../bus/index.ts';
import type { RouteOptions } from '../app.ts';
import { ApiError } from '../errors.ts';
import { requireRole, tenantOf } from '../auth.ts';
import { tenantDatabase } from '../tenant-scope.ts';
import { Role, Tokens, type Auth, type TokenRow } from '../tokens.ts';
import { decider, errors, isoOf, isoOrNull } from './actors.ts';

const TenantBody = z.object({
  tenant: Token.describe('the tenant name: letters, digits, `_` and `-`, e.g. acme'),
  name: z.string().trim().min(1).max(200).describe('a display name'),
});
const TenantItem = z.object({ tenant: z.string(), name: z.string(), createdBy: z.string(), createdAt: z.string() });

const TokenBody = z.object({
  role: Role.describe('viewer reads; operator also approves, sends events and pauses; admin also manages tokens and levels'),
  name: z.string().trim().min(1).max(200).describe('what the token is for, e.g. "n8n" or "ana laptop"'),
  tenant: Token.optional().describe("the tenant; the instance admin must name one (here, X-Cadre-Tenant or ?tenant=), a tenant's admin may only name its own"),
});
const CreatedToken = z.object({
  id: z.string(),
  secret: z.string().describe('the bearer secret: shown this once, stored only as a hash'),
  tenant: z.string(),
  role: Role,
  name: z.string(),
  createdAt: z.string(),
});
const TokenItem = z.object({
  id: z.string(),
  tenant: z.string(),
  role: Role,
  name: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  revokedBy: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
const TokenQuery = z.object({
  tenant: Token.optional().describe('instance admin: only this tenant (or X-Cadre-Tenant); a tenant admin may only name its own'),
  revoked: z.enum(['true', 'false']).optional().describe('`false`: live tokens only'),
});

const tokenItem = (t: TokenRow): z.infer<typeof TokenItem> => ({
  id: t.id,
  tenant: t.tenant,
  role: t.role,
  name: t.name,
  createdBy: t.created_by,
  createdAt: isoOf(t.created_at),
  revokedAt: isoOrNull(t.revoked_at),
  revokedBy: t.revoked_by,
  lastUsedAt: isoOrNull(t.last_used_at),
});

function requireInstanceAdmin(request: FastifyRequest): Auth {
  const auth = requireRole(request, 'admin');
  if (!auth.instanceAdmin) throw new ApiError(403, 'forbidden', 'only the instance admin (CADRE_ADMIN_TOKEN) manages tenants');
  return auth;
}

/** The tenant an admin acts on: the body's, else tenantOf's rules (own tenant, or the one the instance admin names). */
function adminTenant(request: FastifyRequest, named: string | undefined): string {
  const auth = requireRole(request, 'admin');
  if (named === undefined) return tenantOf(request, 'admin');
  if (!auth.instanceAdmin && named !== auth.tenant) throw new ApiError(403, 'forbidden', `this token belongs to tenant ${auth.tenant}`);
  return named;
}

async function existingTenant(tokens: Tokens, tenant: string): Promise<string> {
  if (!(await tokens.tenantExists(tenant))) {
    throw new ApiError(404, 'unknown_tenant', `there is no tenant ${tenant}; the instance admin creates it with POST /v1/tenants`);
  }
  return tenant;
}

/** `/v1/tenants`, `/v1/tokens`. */
export async function adminRoutes(app: FastifyInstance, { runtime: rt, tokens }: RouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  /** Reads of one tenant's rows, under row-level security (tenant-scope.ts); the instance admin's reads of every tenant use `tokens`. */
  const tenantTokens = (tenant: string) => new Tokens(tenantDatabase(rt.db, tenant), rt.clock, null);

  r.post('/v1/tenants', {
    schema: {
      summary: 'Create a tenant (instance admin)',
      tags: ['admin'],
      body: TenantBody,
      response: { 200: TenantItem.extend({ created: z.literal(false) }), 201: TenantItem.extend({ created: z.literal(true) }), ...errors },
    },
  }, async (request, reply) => {
    requireInstanceAdmin(request);
    const { tenant, name } = request.body;
    const made = await tokens.createTenant(tenant, name, decider(request));
    // Its agents' schedules, from the definitions (kept as they are when the tenant existed).
    await rt.agents.ensureTenant(made.tenant);
    const row = (await tokens.getTenant(made.tenant))!;
    const body = { tenant: row.tenant, name: row.name, createdBy: row.created_by, createdAt: isoOf(row.created_at) };
    if (made.created) return reply.status(201).send({ ...body, created: true as const });
    return reply.status(200).send({ ...body, created: false as const });
  });

  r.get('/v1/tenants', {
    schema: {
      summary: "Tenants: every one for the instance admin, a tenant's own for its tokens",
      tags: ['admin'],
      response: { 200: z.object({ items: z.array(TenantItem) }), ...errors },
    },
  }, async (request) => {
    const auth = requireRole(request, 'viewer');
    const rows = auth.instanceAdmin ? await tokens.listTenants() : (await tenantTokens(auth.tenant).listTenants()).filter((t) => t.tenant === auth.tenant);
    return { items: rows.map((t) => ({ tenant: t.tenant, name: t.name, createdBy: t.created_by, createdAt: isoOf(t.created_at) })) };
  });

  r.post('/v1/tokens', {
    schema: {
      summary: 'Create a bearer token for a tenant; the secret is in this answer only',
      tags: ['admin'],
      body: TokenBody,
      response: { 201: CreatedToken, ...errors },
    },
  }, async (request, reply) => {
    const tenant = await existingTenant(tokens, adminTenant(request, request.body.tenant));
    const t = await tokens.create(tenant, request.body.role, request.body.name, decider(request));
    request.log.info({ tokenId: t.id, tenant, role: t.role }, 'token created');
    return reply.status(201).send({ id: t.id, secret: t.secret, tenant: t.tenant, role: t.role, name: t.name, createdAt: isoOf(t.createdAt) });
  });

  r.get('/v1/tokens', {
    schema: {
      summary: "Tokens (never their secrets): a tenant admin's own tenant's, the instance admin's every tenant's or the named one's",
      tags: ['admin'],
      querystring: TokenQuery,
      response: { 200: z.object({ items: z.array(TokenItem) }), ...errors },
    },
  }, async (request) => {
    const auth = requireRole(request, 'admin');
    const named = request.query.tenant ?? request.headers['x-cadre-tenant'];
    const tenant = auth.instanceAdmin && named === undefined ? null : adminTenant(request, request.query.tenant);
    const rows = tenant === null ? await tokens.list(null) : await tenantTokens(tenant).list(tenant);
    return { items: rows.filter((t) => request.query.revoked !== 'false' || t.revoked_at === null).map(tokenItem) };
  });

  r.delete('/v1/tokens/:id', {
    schema: {
      summary: 'Revoke a token; it is refused from the next request on',
      tags: ['admin'],
      params: z.object({ id: z.string().min(1).max(100) }),
      response: { 200: TokenItem.extend({ alreadyRevoked: z.boolean() }), ...errors },
    },
  }, async (request) => {
    const auth = requireRole(request, 'admin');
    const scope = auth.instanceAdmin ? null : auth.tenant;
    const { id } = request.params;
    const revoked = await tokens.revoke(id, scope, decider(request));
    const row = await tokens.get(id, scope);
    if (!row) throw new ApiError(404, 'not_found', `there is no token ${id}`);
    if (revoked) request.log.info({ tokenId: id, tenant: row.tenant }, 'token revoked');
    return { ...tokenItem(row), alreadyRevoked: !revoked };
  });
}
