-- Department agents (docs/agents.md): schedules, runs, delegations.

-- One row per scheduled job per tenant. `next_due_at` is the next occurrence not
-- yet fired; firing it and recording its run is one transaction that moves
-- `next_due_at` on (compare-and-set), so an occurrence fires once across every
-- runtime process. `missed` says what happens to occurrences that passed while
-- no runtime ran: `skip` records them as skipped, `run_once` runs the latest once.
CREATE TABLE schedules (
  tenant       text        NOT NULL,
  name         text        NOT NULL,
  agent        text        NOT NULL,
  job          text        NOT NULL,
  cron         text        NOT NULL,
  timezone     text        NOT NULL DEFAULT 'UTC',
  enabled      boolean     NOT NULL DEFAULT true,
  missed       text        NOT NULL CHECK (missed IN ('skip', 'run_once')),
  timeout_ms   integer     NOT NULL DEFAULT 60000,
  next_due_at  timestamptz,
  last_run_id  text,
  last_fired_at timestamptz,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  updated_by   text        NOT NULL DEFAULT 'cadre',
  PRIMARY KEY (tenant, name)
);
CREATE INDEX schedules_due ON schedules (next_due_at) WHERE enabled;

-- One row per run of an agent: queued by a trigger, planned by a runtime process
-- (claimed with a lease), acted on by the agent actor, completed by its reflection.
-- `occurrence` is the trigger's identity (`schedule:<name>:<time>`,
-- `event:<event id>`, `delegation:<id>`, `manual:<uuid>`): unique per tenant and
-- agent, so one event or occurrence makes one run per agent.
CREATE TABLE agent_runs (
  tenant        text        NOT NULL,
  id            text        NOT NULL,
  agent         text        NOT NULL,
  job           text        NOT NULL,
  trigger       text        NOT NULL CHECK (trigger IN ('schedule', 'catch_up', 'manual', 'event', 'delegation')),
  occurrence    text        NOT NULL,
  schedule      text,
  input         jsonb       NOT NULL DEFAULT '{}',
  status        text        NOT NULL CHECK (status IN ('queued', 'planning', 'acting', 'completed', 'failed', 'skipped')),
  planner       text,
  attempts      integer     NOT NULL DEFAULT 0,
  lease_until   timestamptz,
  timeout_ms    integer     NOT NULL DEFAULT 60000,
  requested_at  timestamptz NOT NULL,
  -- When the occurrence was due (scheduled runs) or the event occurred.
  due_at        timestamptz,
  started_at    timestamptz,
  finished_at   timestamptz,
  duration_ms   integer,
  summary       text,
  findings      jsonb,
  actions       jsonb,
  counts        jsonb,
  hints         jsonb,
  error         text,
  delegation_id text,
  -- The agent that delegated the run (trigger delegation).
  delegated_by  text,
  requested_by  text        NOT NULL DEFAULT 'cadre',
  PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX agent_runs_occurrence ON agent_runs (agent, occurrence, tenant);
CREATE INDEX agent_runs_recent ON agent_runs (requested_at DESC, tenant);
CREATE INDEX agent_runs_waiting ON agent_runs (lease_until) WHERE status IN ('queued', 'planning');
-- Runs planned and not reflected, per agent: the planner's flow control.
CREATE INDEX agent_runs_acting ON agent_runs (agent, tenant) WHERE status = 'acting';

-- Delegations between agents, recorded from the agents' domain events.
CREATE TABLE delegations (
  tenant        text        NOT NULL,
  id            text        NOT NULL,
  from_agent    text        NOT NULL,
  to_agent      text        NOT NULL,
  task          text        NOT NULL,
  input         jsonb       NOT NULL DEFAULT '{}',
  status        text        NOT NULL CHECK (status IN ('requested', 'accepted', 'declined', 'completed', 'timed_out')),
  deadline      timestamptz NOT NULL,
  requested_at  timestamptz NOT NULL,
  settled_at    timestamptz,
  reason        text,
  summary       text,
  result        jsonb,
  requesting_run text,
  run_id        text,
  late          boolean     NOT NULL DEFAULT false,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX delegations_recent ON delegations (requested_at DESC, tenant);

SELECT cadre_tenant_wall('schedules');
SELECT cadre_tenant_wall('agent_runs');
SELECT cadre_tenant_wall('delegations');
