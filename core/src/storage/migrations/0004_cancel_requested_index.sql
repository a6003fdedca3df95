-- Migration 4: the cancelled runs of a worker, by index.

-- Heartbeats look up the cancelled runs of one worker without a table scan.
CREATE INDEX tasks_cancel_requested ON tasks (lease_owner) WHERE cancel_requested = 1
