/**
 * Row-level security as a second wall between tenants (migrations/006_rls.sql).
 *
 * Every table with a `tenant` column has row-level security enabled and a policy
 * `tenant = current_setting('cadre.tenant', true)`. The runtime's own role owns the
 * tables, and an owner is not subject to its tables' policies (they are not FORCEd),
 * so the runtime works as before. Code that acts for one tenant, such as a gateway
 * route, runs its queries through {@link withTenant}: one transaction under the
 * NOLOGIN role `cadre_tenant` with `cadre.tenant` set to that tenant, where a query
 * that forgot its `WHERE tenant = $1` still sees, changes and inserts rows of that
 * tenant only. Instance tables (partition leases, runtime nodes, migrations) are not
 * granted to `cadre_tenant` at all.
 *
 * The same holds on embedded PGlite, which has roles and row-level security.
 */
import { Token } from '../../bus/index.ts';
import type { Database, Transaction } from '../store/index.ts';

/** The database role tenant-scoped queries run under. */
export const TENANT_ROLE = 'cadre_tenant';

/**
 * Runs `fn` in one transaction that sees only `tenant`'s rows: `SET LOCAL ROLE
 * cadre_tenant` and `cadre.tenant` set for the transaction. Both end with it, also
 * when `fn` throws (the transaction is rolled back).
 * @example const mine = await withTenant(rt.db, 'acme', (tx) => tx.query('SELECT * FROM approvals'));
 */
export async function withTenant<T>(db: Database, tenant: string, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  const t = Token.parse(tenant);
  return db.transaction(async (tx) => {
    await tx.query(`SET LOCAL ROLE ${TENANT_ROLE}`);
    await tx.query(`SELECT set_config('cadre.tenant', $1, true)`, [t]);
    return fn(tx);
  });
}
