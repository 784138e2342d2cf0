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
 * The gateway's read routes query through {@link tenantDatabase}: the services
 * they read with (read side, operator, approvals, audit, settings, proposals,
 * tokens) are made per request on a Database whose every query runs under the
 * wall (`tenantReads` in routes/actors.ts). Writes still run as the owner.
 *
 * The same holds on embedded PGlite, which has roles and row-level security.
 */
import { Token } from '../../bus/index.ts';
import type { Database, Row, Transaction } from '../store/index.ts';

/** The database role tenant-scoped queries run under. */
export const TENANT_ROLE = 'cadre_tenant';

/**
 * The one statement that opens a tenant's scope: the role (as `SET LOCAL ROLE
 * cadre_tenant` would) and `cadre.tenant`, both for the transaction only. One
 * statement rather than two: a scope costs a round trip less (it is paid per query
 * by {@link tenantDatabase}).
 */
export const SCOPE_SQL = `SELECT set_config('role', '${TENANT_ROLE}', true), set_config('cadre.tenant', $1, true)`;

/**
 * Runs `fn` in one transaction that sees only `tenant`'s rows: role `cadre_tenant`
 * (`SET LOCAL ROLE`) and `cadre.tenant` set for the transaction ({@link SCOPE_SQL}).
 * Both end with it, also when `fn` throws (the transaction is rolled back).
 * @example const mine = await withTenant(rt.db, 'acme', (tx) => tx.query('SELECT * FROM approvals'));
 */
export async function withTenant<T>(db: Database, tenant: string, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  const t = Token.parse(tenant);
  return db.transaction(async (tx) => {
    await tx.query(SCOPE_SQL, [t]);
    return fn(tx);
  });
}

/**
 * A Database that sees only `tenant`'s rows: every `query` and `exec` runs in its
 * own {@link withTenant} transaction, `transaction(fn)` runs `fn` in one. For
 * services that take a Database (ReadModel, Operator, readAudit, …), so their
 * queries go through the wall without changing them. `ping` is the underlying
 * database's; `close` does nothing (the underlying database is not this one's to close).
 * @example const mine = await new ReadModel(tenantDatabase(rt.db, 'acme'), rt.clock).query('acme', { kind: 'deal' });
 */
export function tenantDatabase(db: Database, tenant: string): Database {
  const t = Token.parse(tenant);
  return {
    kind: db.kind,
    query: <T extends Row = Row>(text: string, params?: unknown[]) => withTenant(db, t, (tx) => tx.query<T>(text, params)),
    exec: (text: string) => withTenant(db, t, (tx) => tx.exec(text)),
    transaction: <T>(fn: (tx: Transaction) => Promise<T>) => withTenant(db, t, fn),
    ping: () => db.ping(),
    close: async () => {},
  };
}
