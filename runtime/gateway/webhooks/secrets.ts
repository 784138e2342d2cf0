import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { Token } from '../../../bus/index.ts';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import { WebhookSecretError } from './errors.ts';

/** The webhook sources Cadre receives. */
export const WebhookSource = z.enum(['pipedrive', 'form', 'n8n']);
/** A webhook source. */
export type WebhookSource = z.infer<typeof WebhookSource>;

/** A secret: 16 to 200 printable ASCII characters without spaces (it travels in HTTP Basic auth for Pipedrive). */
export const WebhookSecret = z
  .string()
  .min(16, 'a webhook secret needs at least 16 characters')
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'use printable ASCII without spaces');

/** A tenant's secret for one source, without the secret. */
export interface WebhookSecretInfo {
  tenant: string;
  source: WebhookSource;
  createdAt: string;
  rotatedAt: string | null;
  /** Until when the secret before the last rotation is still accepted. */
  previousUntil: string | null;
  setBy: string;
}

/** How long the previous secret keeps verifying after a rotation. @default 24 h */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 3600 * 1000;

type Row = {
  tenant: string;
  source: WebhookSource;
  secret: string;
  previous_secret: string | null;
  previous_until: Date | null;
  created_at: Date;
  rotated_at: Date | null;
  set_by: string;
};

/**
 * The secrets tenants share with their webhook sources (table `webhook_secrets`).
 * A secret is stored as given, because an HMAC is computed with the secret itself
 * (docs/webhooks.md, "Secrets"). The gateway's admin routes and the CLI call this.
 *
 * @example
 * const secrets = new WebhookSecrets(rt.db, rt.clock);
 * const secret = WebhookSecrets.generate();
 * await secrets.set('acme', 'form', secret, 'operator:ana');
 * await secrets.rotate('acme', 'form', WebhookSecrets.generate(), 'operator:ana'); // the old one works for 24 h more
 */
export class WebhookSecrets {
  constructor(
    private readonly db: Pick<Database, 'query'>,
    private readonly clock: Clock,
  ) {}

  /** A new random secret: 32 bytes, base64url (43 characters). */
  static generate(): string {
    return randomBytes(32).toString('base64url');
  }

  /** Sets the secret of a tenant and source, replacing any (the old one stops working at once). */
  async set(tenant: string, source: WebhookSource, secret: string, by: string): Promise<WebhookSecretInfo> {
    const k = check(tenant, source, secret);
    const now = this.now();
    const [row] = await this.db.query<Row>(
      `INSERT INTO webhook_secrets (tenant, source, secret, previous_secret, previous_until, created_at, rotated_at, set_by)
       VALUES ($1, $2, $3, NULL, NULL, $4::timestamptz, NULL, $5)
       ON CONFLICT (tenant, source) DO UPDATE SET secret = EXCLUDED.secret, previous_secret = NULL, previous_until = NULL,
         created_at = EXCLUDED.created_at, rotated_at = NULL, set_by = EXCLUDED.set_by
       RETURNING *`,
      [k.tenant, k.source, k.secret, now, by],
    );
    return info(row!);
  }

  /**
   * Replaces the secret and keeps the current one valid for `graceMs` more, so the
   * sender can be switched over without refused deliveries. Without a secret set,
   * this sets one.
   */
  async rotate(tenant: string, source: WebhookSource, secret: string, by: string, graceMs = DEFAULT_ROTATION_GRACE_MS): Promise<WebhookSecretInfo> {
    const k = check(tenant, source, secret);
    if (!Number.isInteger(graceMs) || graceMs < 0) throw new WebhookSecretError(`graceMs must be a non-negative integer, got ${graceMs}`);
    const now = this.now();
    const until = new Date(this.clock.now() + graceMs).toISOString();
    const [row] = await this.db.query<Row>(
      `INSERT INTO webhook_secrets (tenant, source, secret, previous_secret, previous_until, created_at, rotated_at, set_by)
       VALUES ($1, $2, $3, NULL, NULL, $4::timestamptz, NULL, $5)
       ON CONFLICT (tenant, source) DO UPDATE SET previous_secret = webhook_secrets.secret, previous_until = $6::timestamptz,
         secret = EXCLUDED.secret, rotated_at = EXCLUDED.created_at, set_by = EXCLUDED.set_by
       RETURNING *`,
      [k.tenant, k.source, k.secret, now, by, until],
    );
    return info(row!);
  }

  /** Removes the secret: the source's deliveries for this tenant are refused from now on. True if there was one. */
  async remove(tenant: string, source: WebhookSource): Promise<boolean> {
    const k = check(tenant, source);
    const rows = await this.db.query(`DELETE FROM webhook_secrets WHERE tenant = $1 AND source = $2 RETURNING source`, [k.tenant, k.source]);
    return rows.length > 0;
  }

  /** A tenant's secrets, without the secrets themselves. */
  async list(tenant: string): Promise<WebhookSecretInfo[]> {
    const k = check(tenant, 'form');
    const rows = await this.db.query<Row>(`SELECT * FROM webhook_secrets WHERE tenant = $1 ORDER BY source`, [k.tenant]);
    return rows.map(info);
  }

  /**
   * The secrets a delivery may be signed with: the current one, and the previous
   * one during its grace period. Empty when none is set.
   */
  async candidates(tenant: string, source: WebhookSource): Promise<string[]> {
    const [row] = await this.db.query<Pick<Row, 'secret' | 'previous_secret' | 'previous_until'>>(
      `SELECT secret, previous_secret, previous_until FROM webhook_secrets WHERE tenant = $1 AND source = $2`,
      [tenant, source],
    );
    if (!row) return [];
    const out = [row.secret];
    if (row.previous_secret && row.previous_until && row.previous_until.getTime() > this.clock.now()) out.push(row.previous_secret);
    return out;
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function check(tenant: string, source: string, secret?: string): { tenant: string; source: WebhookSource; secret: string } {
  const t = Token.safeParse(tenant);
  if (!t.success) throw new WebhookSecretError(`"${tenant}" is not a tenant name (letters, digits, "_" and "-")`);
  const s = WebhookSource.safeParse(source);
  if (!s.success) throw new WebhookSecretError(`"${source}" is not a webhook source; use ${WebhookSource.options.join(', ')}`);
  if (secret === undefined) return { tenant: t.data, source: s.data, secret: '' };
  const v = WebhookSecret.safeParse(secret);
  if (!v.success) throw new WebhookSecretError(`the webhook secret is not usable: ${v.error.issues.map((i) => i.message).join('; ')}`);
  return { tenant: t.data, source: s.data, secret: v.data };
}

function info(r: Row): WebhookSecretInfo {
  return {
    tenant: r.tenant,
    source: r.source,
    createdAt: r.created_at.toISOString(),
    rotatedAt: r.rotated_at?.toISOString() ?? null,
    previousUntil: r.previous_until?.toISOString() ?? null,
    setBy: r.set_by,
  };
}
