-- The actor store: snapshots, the journal, the outbox, durable timers, effects,
-- dead letters and messages held for paused actors. Every table of tenant data
-- carries the tenant. Times are the runtime clock's, passed in by the runtime.

CREATE TABLE actors (
  tenant         text        NOT NULL,
  kind           text        NOT NULL,
  key            text        NOT NULL,
  partition      int         NOT NULL,
  seq            bigint      NOT NULL CHECK (seq >= 0),
  status         text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'stopped')),
  machine_status text        NOT NULL DEFAULT 'active',
  state          text        NOT NULL,
  snapshot       jsonb       NOT NULL,
  -- Derived from the snapshot by PostgreSQL, for queries; never sent twice.
  state_value    jsonb       GENERATED ALWAYS AS (snapshot -> 'value') STORED,
  context        jsonb       GENERATED ALWAYS AS (snapshot -> 'context') STORED,
  version        text        NOT NULL DEFAULT '1',
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant, kind, key)
);
-- Secondary indexes lead with a column other than tenant: sharing the primary key's
-- leading columns, a table without statistics had its key lookups planned on them
-- (a scan of every actor of the kind per commit).
CREATE INDEX actors_by_state ON actors (state, kind, tenant);

CREATE TABLE journal (
  tenant         text        NOT NULL,
  kind           text        NOT NULL,
  key            text        NOT NULL,
  seq            bigint      NOT NULL,
  message_id     text        NOT NULL,
  event_type     text        NOT NULL,
  event          jsonb       NOT NULL,
  state          text        NOT NULL,
  correlation_id text        NOT NULL,
  causation_id   text,
  sender         text        NOT NULL,
  committed_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant, kind, key, seq)
);
-- The message id is the deduplication key: a message is applied at most once.
CREATE UNIQUE INDEX journal_message_id ON journal (message_id, tenant);

CREATE TABLE outbox (
  -- Commit order: re-publishing after a crash follows it, so one sender's messages
  -- keep their order (created_at ties within a batch, and ids do not sort by seq).
  position   bigserial   NOT NULL,
  tenant     text        NOT NULL,
  message_id text        NOT NULL,
  partition  int         NOT NULL,
  subject    text        NOT NULL,
  payload    text        NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant, message_id)
);
CREATE INDEX outbox_by_partition ON outbox (partition, position);

CREATE TABLE timers (
  tenant    text        NOT NULL,
  kind      text        NOT NULL,
  key       text        NOT NULL,
  timer_id  text        NOT NULL,
  partition int         NOT NULL,
  set_seq   bigint      NOT NULL,
  due_at    timestamptz NOT NULL,
  event     jsonb       NOT NULL,
  set_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant, kind, key, timer_id)
);
CREATE INDEX timers_due ON timers (partition, due_at);

CREATE TABLE effects (
  tenant          text        NOT NULL,
  id              text        NOT NULL,
  kind            text        NOT NULL,
  key             text        NOT NULL,
  partition       int         NOT NULL,
  action_type     text        NOT NULL,
  params          jsonb       NOT NULL,
  on_done         text        NOT NULL,
  on_error        text        NOT NULL,
  status          text        NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'succeeded', 'failed', 'held', 'blocked')),
  attempts        int         NOT NULL DEFAULT 0,
  max_attempts    int         NOT NULL,
  next_attempt_at timestamptz NOT NULL,
  last_error      text,
  result          jsonb,
  decision        jsonb,
  correlation_id  text        NOT NULL,
  requested_seq   bigint      NOT NULL,
  requested_at    timestamptz NOT NULL,
  finished_at     timestamptz,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX effects_due ON effects (partition, next_attempt_at) WHERE status = 'pending';
CREATE INDEX effects_by_actor ON effects (key, kind, tenant);

CREATE TABLE dead_letters (
  id               bigserial   PRIMARY KEY,
  tenant           text        NOT NULL,
  message_id       text,
  kind             text,
  key              text,
  subject          text        NOT NULL,
  code             text        NOT NULL,
  reason           text        NOT NULL,
  payload          text        NOT NULL,
  payload_encoding text        NOT NULL CHECK (payload_encoding IN ('utf8', 'base64')),
  delivery_count   int         NOT NULL DEFAULT 1,
  status           text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed', 'discarded')),
  created_at       timestamptz NOT NULL,
  resolved_at      timestamptz,
  resolved_by      text
);
CREATE UNIQUE INDEX dead_letters_message_id ON dead_letters (message_id, tenant) WHERE message_id IS NOT NULL;
CREATE INDEX dead_letters_open ON dead_letters (tenant, status, created_at);

-- Messages that reached a paused actor, replayed in order when it resumes.
CREATE TABLE held_messages (
  tenant     text        NOT NULL,
  kind       text        NOT NULL,
  key        text        NOT NULL,
  hold_seq   bigint      NOT NULL,
  message_id text        NOT NULL,
  payload    jsonb       NOT NULL,
  held_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant, kind, key, hold_seq)
);
CREATE UNIQUE INDEX held_messages_message_id ON held_messages (message_id, tenant);

-- Instance tables (not tenant data): which runtime process owns which partition.
CREATE TABLE runtime_nodes (
  node_id      text        PRIMARY KEY,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  info         jsonb       NOT NULL DEFAULT '{}'
);

CREATE TABLE partition_leases (
  partition   int         PRIMARY KEY,
  owner       text,
  lease_until timestamptz,
  epoch       bigint      NOT NULL DEFAULT 0
);

-- Aborts the statement it is called from; the runtime uses it to make a commit
-- fail as a whole when an actor's sequence number moved underneath it.
CREATE FUNCTION cadre_assert(ok boolean, message text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT ok THEN
    RAISE EXCEPTION 'cadre: %', message;
  END IF;
  RETURN true;
END
$$;

-- Attempts at messages redelivered after their process ended mid-batch; see
-- runtime/host/load.ts countAttempts. Rows older than a day are pruned.
CREATE TABLE delivery_attempts (
  tenant     text        NOT NULL,
  message_id text        NOT NULL,
  attempts   int         NOT NULL,
  last_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant, message_id)
);
CREATE INDEX delivery_attempts_age ON delivery_attempts (last_at);
