-- Webhook receivers (POST /v1/webhooks/{source}; docs/webhooks.md): the secret each
-- tenant shares with each source, and the deliveries received, keyed by the
-- source's delivery id so that a replayed delivery is applied once.

-- An HMAC is computed with the secret itself, so the secret is stored as given
-- (like the database password in DATABASE_URL: protect the database, not the
-- column). `previous_secret` keeps verifying until `previous_until` after a
-- rotation, so senders can be switched over without refused deliveries.
CREATE TABLE webhook_secrets (
  tenant          text        NOT NULL,
  source          text        NOT NULL CHECK (source IN ('pipedrive', 'form', 'n8n')),
  secret          text        NOT NULL,
  previous_secret text,
  previous_until  timestamptz,
  created_at      timestamptz NOT NULL,
  rotated_at      timestamptz,
  set_by          text        NOT NULL,
  PRIMARY KEY (tenant, source)
);

-- One row per accepted delivery (refused ones, e.g. with a bad signature, leave
-- no row). The primary key is the deduplication: a delivery id seen before is
-- answered as a duplicate and publishes nothing.
CREATE TABLE webhook_deliveries (
  tenant      text        NOT NULL,
  source      text        NOT NULL,
  delivery_id text        NOT NULL,
  received_at timestamptz NOT NULL,
  -- What the source said happened, e.g. 'updated.deal', 'form.submitted', 'n8n.error'.
  event       text        NOT NULL,
  status      text        NOT NULL CHECK (status IN ('accepted', 'ignored')),
  -- Why it was ignored, or what it led to ('deal.update, deal.win → deal/PD-7').
  outcome     text        NOT NULL,
  -- The ids of the messages and domain events it produced (outbox message ids).
  messages    jsonb       NOT NULL DEFAULT '[]',
  PRIMARY KEY (tenant, source, delivery_id)
);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at, tenant);
