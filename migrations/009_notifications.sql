-- Notifications and email delivery (docs/notifications.md): what the notify.send
-- and email.send effects recorded and delivered, and each tenant's webhook.

-- One row per notify.send effect, keyed by the effect id (its idempotency key):
-- written before anything is posted, so a retry after a crash finds it and does
-- not post again once it says delivered.
CREATE TABLE notifications (
  tenant       text        NOT NULL,
  id           text        NOT NULL,
  kind         text        NOT NULL CHECK (kind IN ('brief', 'report', 'alert', 'summary', 'draft')),
  channel      text        NOT NULL,
  severity     text        NOT NULL CHECK (severity IN ('info', 'warning', 'urgent')),
  title        text        NOT NULL,
  body         text        NOT NULL,
  topic        text,
  related      text,
  agent        text,
  -- The actor that asked for it: kind/key.
  actor        text,
  created_at   timestamptz NOT NULL,
  -- pending: recorded; sending: a post is under way (or its process died in it);
  -- delivered, throttled, not_configured: settled; failed: the last post failed.
  status       text        NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'throttled', 'not_configured')),
  -- When the last post started; an alert's throttling window counts from it.
  sent_at      timestamptz,
  delivered_at timestamptz,
  -- Where it went: the host only (a webhook URL's path is its secret).
  target_host  text,
  error        text,
  attempts     int         NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, id)
);
-- Listing, newest first per tenant.
CREATE INDEX notifications_newest ON notifications (tenant, created_at, id);
-- Throttling: alerts of one topic being posted or posted lately. The topic leads
-- (docs/architecture.md: secondary indexes do not lead with the key's tenant).
CREATE INDEX notifications_throttle ON notifications (topic, tenant, sent_at)
  WHERE kind = 'alert' AND status IN ('sending', 'delivered');

-- A tenant's own webhook (a Slack incoming webhook URL), over CADRE_NOTIFY_WEBHOOK_URL.
-- The URL is a secret: the API shows its host only.
CREATE TABLE notification_channels (
  tenant      text        PRIMARY KEY,
  webhook_url text        NOT NULL,
  set_by      text        NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);

-- One row per email.send effect, keyed by the effect id: recorded before Gmail is
-- called, so a retry does not send again once it says sent.
CREATE TABLE sent_emails (
  tenant       text        NOT NULL,
  id           text        NOT NULL,
  actor        text,
  agent        text,
  from_address text,
  to_addresses jsonb       NOT NULL,
  cc_addresses jsonb       NOT NULL DEFAULT '[]',
  reply_to     text,
  subject      text        NOT NULL,
  body         text        NOT NULL,
  related      text,
  -- gmail: sent through the Gmail API; log: no transport configured, recorded only.
  transport    text        NOT NULL CHECK (transport IN ('gmail', 'log')),
  -- Gmail's message and thread ids.
  provider_id  text,
  thread_id    text,
  status       text        NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'logged')),
  error        text,
  attempts     int         NOT NULL DEFAULT 0,
  -- When it was recorded.
  at           timestamptz NOT NULL,
  sent_at      timestamptz,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX sent_emails_newest ON sent_emails (tenant, at, id);

SELECT cadre_tenant_wall('notifications');
SELECT cadre_tenant_wall('notification_channels');
SELECT cadre_tenant_wall('sent_emails');
