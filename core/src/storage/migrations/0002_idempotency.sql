-- Migration 2: idempotency keys.

ALTER TABLE jobs ADD COLUMN idempotency_key TEXT

CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant, idempotency_key)
  WHERE idempotency_key IS NOT NULL

CREATE INDEX jobs_finished ON jobs (finished_at_ms) WHERE finished_at_ms IS NOT NULL
