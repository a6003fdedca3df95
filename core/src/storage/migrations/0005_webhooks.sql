-- Migration 5: webhooks and their delivery outbox.

-- Webhooks: subscriptions per tenant and an outbox of deliveries, written in the
-- transaction that ends a job and delivered by the workers (see webhooks.hpp).
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,  -- JSON array of event names
  auth_kind TEXT NOT NULL,  -- none | basic | hmac
  basic_user TEXT,
  secret TEXT,  -- the basic password or the HMAC key; never returned by GET
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL)

CREATE INDEX webhooks_by_tenant ON webhooks (tenant, created_at_ms, id)

CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,  -- <webhook id>.<event>.<job id>: one per event and job
  webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  tenant TEXT NOT NULL,
  event TEXT NOT NULL,
  job_id TEXT NOT NULL,
  job_status TEXT NOT NULL,
  job_error TEXT,
  job_error_code TEXT,
  job_created_at_ms BIGINT,
  job_started_at_ms BIGINT,
  job_finished_at_ms BIGINT,
  state TEXT NOT NULL,  -- PENDING | RUNNING | DELIVERED | FAILED
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  next_attempt_at_ms BIGINT NOT NULL,
  lease_owner TEXT,
  lease_expires_at_ms BIGINT,
  last_error TEXT,
  created_at_ms BIGINT NOT NULL,
  finished_at_ms BIGINT)

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at_ms, id)
  WHERE state = 'PENDING'

CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_expires_at_ms)
  WHERE state = 'RUNNING'

CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id,
  created_at_ms)

CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at_ms)
  WHERE finished_at_ms IS NOT NULL

CREATE TABLE webhook_delivery_attempts (
  delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  worker TEXT NOT NULL,
  started_at_ms BIGINT NOT NULL,
  finished_at_ms BIGINT,
  http_status INTEGER,
  error TEXT,
  PRIMARY KEY (delivery_id, attempt))
