-- Gates: every effect is decided (autonomy level × risk class, then policies that
-- can only tighten) before it may run; approvals; the append-only audit log;
-- learning from approvals. See docs/gates.md.

-- An effect now starts as 'deciding'. Only the gate moves it to 'pending' (allowed
-- to run), in the same transaction as the audit entry that records the decision.
ALTER TABLE effects DROP CONSTRAINT effects_status_check;
ALTER TABLE effects ADD CONSTRAINT effects_status_check CHECK (status IN (
  'deciding', 'held', 'awaiting_approval', 'pending',
  'succeeded', 'failed', 'dry_run', 'blocked', 'rejected', 'expired', 'withdrawn', 'refused'));
ALTER TABLE effects ALTER COLUMN status SET DEFAULT 'deciding';
-- The gate the machine asked through: {name, request, agent, preview, expiresInMs}.
ALTER TABLE effects ADD COLUMN gate jsonb;
ALTER TABLE effects ADD COLUMN agent text;
ALTER TABLE effects ADD COLUMN risk text;
ALTER TABLE effects ADD COLUMN level text;
ALTER TABLE effects ADD COLUMN approval_id text;
ALTER TABLE effects ADD COLUMN decisions int NOT NULL DEFAULT 0;
-- The UTC day whose rate-limit slot this effect took (taken once, before the first attempt).
ALTER TABLE effects ADD COLUMN rate_day date;
DROP INDEX effects_due;
CREATE INDEX effects_due ON effects (partition, next_attempt_at) WHERE status IN ('deciding', 'held', 'pending');

-- The kill switch and dry-run, for every tenant ('*') or one.
CREATE TABLE gate_switches (
  tenant     text        PRIMARY KEY,
  paused     boolean     NOT NULL DEFAULT false,
  dry_run    boolean     NOT NULL DEFAULT false,
  reason     text,
  changed_by text        NOT NULL,
  changed_at timestamptz NOT NULL
);

-- Autonomy levels per tenant, agent and action type ('*' = any); the most specific row wins.
CREATE TABLE autonomy_levels (
  tenant      text        NOT NULL,
  agent       text        NOT NULL,
  action_type text        NOT NULL,
  level       text        NOT NULL CHECK (level IN ('supervised', 'semi_autonomous', 'autonomous')),
  set_by      text        NOT NULL,
  set_at      timestamptz NOT NULL,
  PRIMARY KEY (tenant, agent, action_type)
);

-- A tenant's risk class for an action type, over the built-in defaults.
CREATE TABLE action_risks (
  tenant      text        NOT NULL,
  action_type text        NOT NULL,
  risk        text        NOT NULL CHECK (risk IN ('low', 'medium', 'high', 'critical')),
  set_by      text        NOT NULL,
  set_at      timestamptz NOT NULL,
  PRIMARY KEY (tenant, action_type)
);

-- Per-action daily limits of a tenant, over the built-in defaults.
CREATE TABLE rate_limits (
  tenant      text        NOT NULL,
  action_type text        NOT NULL,
  per_day     int         NOT NULL CHECK (per_day >= 0),
  set_by      text        NOT NULL,
  set_at      timestamptz NOT NULL,
  PRIMARY KEY (tenant, action_type)
);

-- Executions counted against the limits, per UTC day.
CREATE TABLE rate_usage (
  tenant      text NOT NULL,
  action_type text NOT NULL,
  day         date NOT NULL,
  used        int  NOT NULL,
  PRIMARY KEY (tenant, action_type, day)
);

-- Addresses no outbound message may go to.
CREATE TABLE suppressions (
  tenant     text        NOT NULL,
  address    text        NOT NULL,
  kind       text        NOT NULL CHECK (kind IN ('opt_out', 'bounce', 'complaint', 'manual')),
  reason     text,
  created_by text        NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant, address)
);

-- A tenant's gate settings over the instance defaults.
CREATE TABLE gate_settings (
  tenant          text        PRIMARY KEY,
  approval_ttl_ms bigint      CHECK (approval_ttl_ms > 0),
  learn_after     int         CHECK (learn_after > 0),
  set_by          text        NOT NULL,
  set_at          timestamptz NOT NULL
);

CREATE TABLE approvals (
  tenant         text        NOT NULL,
  id             text        NOT NULL,
  effect_id      text        NOT NULL,
  kind           text        NOT NULL,
  key            text        NOT NULL,
  partition      int         NOT NULL,
  agent          text        NOT NULL,
  action_type    text        NOT NULL,
  risk           text        NOT NULL,
  level          text        NOT NULL,
  preview        text        NOT NULL,
  params         jsonb       NOT NULL,
  status         text        NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'withdrawn')),
  correlation_id text        NOT NULL,
  requested_at   timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  decided_by     text,
  decided_at     timestamptz,
  note           text,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX approvals_due ON approvals (partition, expires_at) WHERE status = 'pending';
CREATE INDEX approvals_by_status ON approvals (status, tenant, requested_at);

-- One entry per gate decision, approval outcome and executed (or refused) effect.
CREATE TABLE audit_log (
  id             bigserial   PRIMARY KEY,
  tenant         text        NOT NULL,
  at             timestamptz NOT NULL,
  entry          text        NOT NULL CHECK (entry IN ('decision', 'approval', 'execution')),
  outcome        text        NOT NULL,
  kind           text,
  key            text,
  agent          text,
  action_type    text,
  effect_id      text,
  approval_id    text,
  risk           text,
  level          text,
  policy         text,
  decided_by     text        NOT NULL,
  reason         text,
  correlation_id text,
  detail         jsonb
);
CREATE INDEX audit_by_tenant ON audit_log (tenant, at);
CREATE INDEX audit_by_effect ON audit_log (effect_id, tenant);

CREATE FUNCTION cadre_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'cadre: the audit log is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION cadre_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION cadre_audit_append_only();

-- Consecutive approvals of one action type for one agent, for learning.
CREATE TABLE approval_streaks (
  tenant      text NOT NULL,
  agent       text NOT NULL,
  action_type text NOT NULL,
  streak      int  NOT NULL,
  PRIMARY KEY (tenant, agent, action_type)
);

-- A level change Cadre proposes after a streak; only an operator applies it.
CREATE TABLE autonomy_proposals (
  tenant      text        NOT NULL,
  id          text        NOT NULL,
  agent       text        NOT NULL,
  action_type text        NOT NULL,
  risk        text        NOT NULL,
  from_level  text        NOT NULL,
  to_level    text        NOT NULL,
  streak      int         NOT NULL,
  status      text        NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'accepted', 'dismissed')),
  created_at  timestamptz NOT NULL,
  decided_by  text,
  decided_at  timestamptz,
  note        text,
  PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX autonomy_proposals_open ON autonomy_proposals (agent, action_type, tenant) WHERE status = 'proposed';
