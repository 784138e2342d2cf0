-- The gateway: tenants and bearer tokens. A token is stored as the SHA-256 of its
-- secret; the secret is shown once, when it is made.

CREATE TABLE tenants (
  tenant     text        PRIMARY KEY,
  name       text        NOT NULL,
  created_by text        NOT NULL,
  created_at timestamptz NOT NULL
);

CREATE TABLE api_tokens (
  id          text        PRIMARY KEY,
  tenant      text        NOT NULL,
  role        text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  name        text        NOT NULL,
  secret_hash text        NOT NULL UNIQUE,
  created_by  text        NOT NULL,
  created_at  timestamptz NOT NULL,
  revoked_at  timestamptz,
  revoked_by  text,
  last_used_at timestamptz
);
CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant, created_at);
