-- Migration 1: the queue: jobs, tasks, their attempts and artifacts.

CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  step_count INTEGER NOT NULL,
  error TEXT,
  error_code TEXT,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  started_at_ms BIGINT,
  finished_at_ms BIGINT)

CREATE INDEX jobs_by_created ON jobs (created_at_ms, id)

CREATE INDEX jobs_by_status ON jobs (status, created_at_ms)

CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  generator TEXT NOT NULL,
  params TEXT NOT NULL,
  state TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  timeout_ms BIGINT NOT NULL,
  run_after_ms BIGINT NOT NULL,
  lease_owner TEXT,
  lease_expires_at_ms BIGINT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  progress DOUBLE PRECISION NOT NULL DEFAULT 0,
  error TEXT,
  error_code TEXT,
  created_at_ms BIGINT NOT NULL,
  queued_at_ms BIGINT,
  started_at_ms BIGINT,
  finished_at_ms BIGINT,
  UNIQUE (job_id, step))

CREATE INDEX tasks_claimable ON tasks (priority DESC, run_after_ms, id)
  WHERE state = 'QUEUED'

CREATE INDEX tasks_leased ON tasks (lease_owner) WHERE state = 'RUNNING'

CREATE INDEX tasks_lease_expiry ON tasks (lease_expires_at_ms) WHERE state = 'RUNNING'

CREATE TABLE task_attempts (
  task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  worker TEXT NOT NULL,
  started_at_ms BIGINT NOT NULL,
  finished_at_ms BIGINT,
  outcome TEXT,
  error TEXT,
  error_code TEXT,
  PRIMARY KEY (task_id, attempt))

CREATE TABLE artifacts (
  id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  step INTEGER NOT NULL,  -- -1: the inputs of the job
  seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size_bytes BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  data {BLOB} NOT NULL,
  created_at_ms BIGINT NOT NULL,
  UNIQUE (job_id, step, name))
