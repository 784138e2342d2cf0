-- Script jobs: every job the sandbox runs for the runtime (runtime/scripts/), one
-- row each, written before its isolate starts and finished with its outcome, logs,
-- timing and artifacts in one transaction. Every table carries the tenant. Times
-- are the runtime clock's, passed in by the runtime. See docs/sandbox.md.

CREATE TABLE script_jobs (
  tenant            text             NOT NULL,
  id                text             NOT NULL,
  kind              text             NOT NULL CHECK (kind IN ('template', 'custom')),
  template          text,
  code              text,
  params            jsonb            NOT NULL,
  -- The inputs as given, or when they are large (or not storable) one summary per
  -- input: kind, name, media type, size in bytes and SHA-256.
  inputs            jsonb            NOT NULL,
  inputs_summarised boolean          NOT NULL DEFAULT false,
  inputs_bytes      bigint           NOT NULL DEFAULT 0,
  limits            jsonb,
  status            text             NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  -- 1, plus one each time a retryable failure is run again under the same effect id.
  attempts          int              NOT NULL DEFAULT 1 CHECK (attempts >= 1),
  reason_code       text,
  reason            text,
  reason_retryable  boolean,
  output            jsonb,
  logs              jsonb            NOT NULL DEFAULT '[]',
  logs_truncated    boolean          NOT NULL DEFAULT false,
  queued_at         timestamptz      NOT NULL,
  started_at        timestamptz,
  finished_at       timestamptz,
  -- Past this time no live process can still be running the job (recovery rule).
  deadline_at       timestamptz,
  cpu_ms            double precision,
  wall_ms           double precision,
  isolate_start_ms  double precision,
  heap_used_bytes   bigint,
  -- An actor address (tenant/kind/key) or `operator:<name>`.
  requested_by      text             NOT NULL,
  -- The idempotency key of the `script.run` effect that asked for the job.
  effect_id         text,
  node_id           text             NOT NULL,
  PRIMARY KEY (tenant, id),
  -- NULLs are distinct: jobs without an effect never collide.
  UNIQUE (tenant, effect_id),
  CHECK ((kind = 'template') = (template IS NOT NULL)),
  CHECK ((kind = 'custom') = (code IS NOT NULL)),
  CHECK ((status = 'failed') = (reason_code IS NOT NULL))
);
CREATE INDEX script_jobs_by_time ON script_jobs (tenant, queued_at DESC, id);
CREATE INDEX script_jobs_by_status ON script_jobs (tenant, status, queued_at DESC, id);
-- Unfinished jobs are few; recovery scans them by deadline or node.
CREATE INDEX script_jobs_unfinished ON script_jobs (deadline_at, node_id) WHERE status IN ('queued', 'running');

CREATE TABLE script_artifacts (
  tenant     text NOT NULL,
  job_id     text NOT NULL,
  seq        int  NOT NULL,
  name       text NOT NULL,
  media_type text NOT NULL,
  content    text NOT NULL,
  -- UTF-8 bytes of content.
  size       int  NOT NULL CHECK (size >= 0),
  PRIMARY KEY (tenant, job_id, seq),
  FOREIGN KEY (tenant, job_id) REFERENCES script_jobs (tenant, id) ON DELETE CASCADE
);
