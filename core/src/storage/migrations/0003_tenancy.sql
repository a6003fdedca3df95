-- Migration 3: tenants, credentials, API keys, settings and server secrets.

-- The API's tenants, credentials, settings and server-wide secrets.
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL)

CREATE TABLE credentials (
  id TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  is_active INTEGER NOT NULL DEFAULT 1,
  is_root INTEGER NOT NULL DEFAULT 0,
  scopes TEXT NOT NULL,
  tenants TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL)

CREATE TABLE api_keys (
  key_hash TEXT PRIMARY KEY,
  credential_id TEXT NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
  source TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL)

CREATE INDEX api_keys_by_credential ON api_keys (credential_id)

CREATE TABLE config_values (
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, name))

CREATE TABLE server_secrets (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL)

CREATE INDEX jobs_by_tenant ON jobs (tenant, created_at_ms, id)
