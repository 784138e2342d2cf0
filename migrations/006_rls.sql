-- Row-level security as a second wall between tenants: a query made under a
-- tenant's scope sees, changes and inserts rows of that tenant only, even if it
-- forgot its `WHERE tenant = $1`. See runtime/gateway/tenant-scope.ts (withTenant).
--
-- * `cadre_tenant` is a NOLOGIN role; tenant-scoped work runs as
--   `SET LOCAL ROLE cadre_tenant` with `cadre.tenant` set for the transaction.
--   Roles are cluster-wide: it is made only if missing (several Cadre databases on
--   one server share it).
-- * Every table with a `tenant` column: row-level security enabled, DML granted to
--   `cadre_tenant`, and the policy `tenant_wall`: tenant = current_setting('cadre.tenant', true).
--   Unset, the setting is NULL and no row matches.
-- * Not FORCEd: the runtime's role owns the tables and keeps seeing every row.
-- * Instance tables (runtime_nodes, partition_leases, schema_migrations) have no
--   tenant column and are not granted to `cadre_tenant`.
-- * gate_switches holds the switches of every tenant under tenant '*' (the global
--   kill switch and dry-run): a tenant may read those rows, not change them.
--
-- A later migration that adds a table of tenant data calls
--   SELECT cadre_tenant_wall('the_table');

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cadre_tenant') THEN
    BEGIN
      CREATE ROLE cadre_tenant NOLOGIN;
    EXCEPTION
      -- Another database of this server made it at the same moment.
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'cadre: making the role cadre_tenant needs CREATEROLE; have a superuser run once: CREATE ROLE cadre_tenant NOLOGIN; GRANT cadre_tenant TO %', current_user;
    END;
  END IF;
  -- SET ROLE needs membership, unless the runtime's role is a superuser.
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AND NOT pg_has_role(current_user, 'cadre_tenant', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT cadre_tenant TO %I', current_user);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION 'cadre: the role % must be a member of cadre_tenant; have a superuser run once: GRANT cadre_tenant TO %', current_user, current_user;
    END;
  END IF;
END
$$;

DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO cadre_tenant', current_schema());
END
$$;

-- Walls one table: grants, row-level security, the policy. Safe to call twice.
CREATE FUNCTION cadre_tenant_wall(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  seq regclass;
BEGIN
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO cadre_tenant', tbl);
  -- The sequences of its serial columns, for inserts.
  FOR seq IN SELECT d.objid::regclass FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
             WHERE d.refobjid = tbl AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LOOP
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO cadre_tenant', seq);
  END LOOP;
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('DROP POLICY IF EXISTS tenant_wall ON %s', tbl);
  EXECUTE format($p$CREATE POLICY tenant_wall ON %s USING (tenant = current_setting('cadre.tenant', true)) WITH CHECK (tenant = current_setting('cadre.tenant', true))$p$, tbl);
END
$$;

REVOKE EXECUTE ON FUNCTION cadre_tenant_wall(regclass) FROM PUBLIC;

-- Every table of this schema with a tenant column, whichever migration made it.
DO $$
DECLARE
  tbl regclass;
BEGIN
  FOR tbl IN SELECT c.oid::regclass FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
             WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
               AND a.attname = 'tenant' AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY c.relname LOOP
    PERFORM cadre_tenant_wall(tbl);
  END LOOP;
END
$$;

CREATE POLICY instance_switches ON gate_switches FOR SELECT USING (tenant = '*');
