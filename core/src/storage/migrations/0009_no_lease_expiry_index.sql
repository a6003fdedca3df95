-- Migration 9: no index on lease expiry.

-- Every claim wrote an entry here. Expired leases are found by walking the running
-- tasks (tasks_leased, a partial index of RUNNING tasks: as many as the workers
-- hold) instead.
DROP INDEX tasks_lease_expiry
