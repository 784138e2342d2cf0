import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { Token } from '../../bus/index.ts';
import type { Database } from '../store/index.ts';
import type { Clock } from '../clock.ts';

/** What a token may do: viewer reads; operator also decides approvals, sends events, pauses; admin also manages tokens, levels and tenants. */
export const Role = z.enum(['viewer', 'operator', 'admin']);
/** What a token may do. */
export type Role = z.infer<typeof Role>;

/** Who is calling. The instance admin (CADRE_ADMIN_TOKEN) is an admin of every tenant (`tenant: '*'`). */
export interface Auth {
  tenant: string;
  role: Role;
  tokenId: string;
  instanceAdmin: boolean;
}

/** A token as listed (never its secret). */
export type TokenRow = {
  id: string;
  tenant: string;
  role: Role;
  name: string;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
  revoked_by: string | null;
  last_used_at: Date | null;
};

/** A tenant as listed. */
export type TenantRow = { tenant: string; name: string; created_by: string; created_at: Date };

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether `have` includes what `need` may do. */
export function allows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

/** How often `last_used_at` is written at most, per token. */
const LAST_USED_EVERY_MS = 60_000;

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A token was asked for a tenant that was never created. */
export class TenantNotFoundError extends Error {
  readonly code = 'unknown_tenant';
  constructor(readonly tenant: string) {
    super(`there is no tenant ${tenant}; create it first (POST /v1/tenants, or \`cadre tenant create ${tenant}\`)`);
    this.name = 'TenantNotFoundError';
  }
}

/**
 * Bearer tokens in PostgreSQL, stored hashed; each bound to one tenant and a
 * role. The secret (`cdr_<id>_<random>`) is returned once, at creation.
 */
export class Tokens {
  private readonly adminHash: Buffer | null;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    /** The instance admin's token (CADRE_ADMIN_TOKEN or the generated one). */
    adminToken: string | null,
  ) {
    this.adminHash = adminToken ? Buffer.from(hash(adminToken), 'hex') : null;
  }

  /** Creates a tenant (idempotent: an existing tenant is returned as it is). */
  async createTenant(tenant: string, name: string, by: string): Promise<{ tenant: string; name: string; created: boolean }> {
    const t = Token.parse(tenant);
    const rows = await this.db.query<{ tenant: string; name: string }>(
      `INSERT INTO tenants (tenant, name, created_by, created_at) VALUES ($1, $2, $3, $4::timestamptz) ON CONFLICT DO NOTHING RETURNING tenant, name`,
      [t, name, by, this.now()],
    );
    if (rows[0]) return { ...rows[0], created: true };
    const existing = await this.db.query<{ tenant: string; name: string }>(`SELECT tenant, name FROM tenants WHERE tenant = $1`, [t]);
    return { ...existing[0]!, created: false };
  }

  async tenantExists(tenant: string): Promise<boolean> {
    return (await this.db.query(`SELECT 1 FROM tenants WHERE tenant = $1`, [tenant])).length > 0;
  }

  /** Throws TenantNotFoundError unless the tenant was created. */
  async requireTenant(tenant: string): Promise<void> {
    if (!(await this.tenantExists(tenant))) throw new TenantNotFoundError(tenant);
  }

  /** One tenant, or null. */
  async getTenant(tenant: string): Promise<TenantRow | null> {
    const rows = await this.db.query<TenantRow>(`SELECT tenant, name, created_by, created_at FROM tenants WHERE tenant = $1`, [tenant]);
    return rows[0] ?? null;
  }

  /** Every tenant, by name. */
  async listTenants(): Promise<TenantRow[]> {
    return this.db.query<TenantRow>(`SELECT tenant, name, created_by, created_at FROM tenants ORDER BY tenant LIMIT 10000`);
  }

  /** Makes a token; the returned `secret` is the only copy. (The routes and the CLI check first that the tenant exists: {@link requireTenant}.) */
  async create(tenant: string, role: Role, name: string, by: string): Promise<{ id: string; secret: string; tenant: string; role: Role; name: string; createdAt: Date }> {
    Role.parse(role);
    const at = this.now();
    const id = `tok_${randomBytes(8).toString('hex')}`;
    const secret = `cdr_${id.slice(4)}_${randomBytes(24).toString('base64url')}`;
    await this.db.query(
      `INSERT INTO api_tokens (id, tenant, role, name, secret_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz)`,
      [id, tenant, role, name, hash(secret), by, at],
    );
    return { id, secret, tenant, role, name, createdAt: new Date(at) };
  }

  /** One token (never its secret), in that tenant when given; null if there is none. */
  async get(id: string, tenant: string | null = null): Promise<TokenRow | null> {
    const rows = await this.db.query<TokenRow>(
      `SELECT id, tenant, role, name, created_by, created_at, revoked_at, revoked_by, last_used_at FROM api_tokens
       WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)`,
      [id, tenant],
    );
    return rows[0] ?? null;
  }

  async list(tenant: string | null): Promise<TokenRow[]> {
    return this.db.query<TokenRow>(
      `SELECT id, tenant, role, name, created_by, created_at, revoked_at, revoked_by, last_used_at FROM api_tokens
       WHERE ($1::text IS NULL OR tenant = $1) ORDER BY created_at DESC, id LIMIT 1000`,
      [tenant],
    );
  }

  /** Revokes a token at once; false if there is no such live token (in that tenant, when given). */
  async revoke(id: string, tenant: string | null, by: string): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE api_tokens SET revoked_at = $3::timestamptz, revoked_by = $4 WHERE id = $1 AND ($2::text IS NULL OR tenant = $2) AND revoked_at IS NULL RETURNING id`,
      [id, tenant, this.now(), by],
    );
    return rows.length > 0;
  }

  /** Who a bearer secret belongs to, or null for an unknown or revoked one. */
  async verify(secret: string): Promise<Auth | null> {
    if (!secret || secret.length > 200) return null;
    const h = hash(secret);
    if (this.adminHash && timingSafeEqual(Buffer.from(h, 'hex'), this.adminHash)) {
      return { tenant: '*', role: 'admin', tokenId: 'instance-admin', instanceAdmin: true };
    }
    // Looked up on every request, so a revocation counts from the next one; `last_used_at`
    // is written at most once a minute per token, not on every request.
    const now = this.clock.now();
    const rows = await this.db.query<{ id: string; tenant: string; role: Role }>(
      `WITH t AS (SELECT id, tenant, role, last_used_at FROM api_tokens WHERE secret_hash = $1 AND revoked_at IS NULL),
            used AS (UPDATE api_tokens a SET last_used_at = $2::timestamptz FROM t
                     WHERE a.id = t.id AND (t.last_used_at IS NULL OR t.last_used_at < $3::timestamptz) RETURNING a.id)
       SELECT id, tenant, role FROM t`,
      [h, new Date(now).toISOString(), new Date(now - LAST_USED_EVERY_MS).toISOString()],
    );
    const r = rows[0];
    return r ? { tenant: r.tenant, role: r.role, tokenId: r.id, instanceAdmin: false } : null;
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
