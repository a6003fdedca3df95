-- Migration 8: HOT updates of job rows.

-- The queue's hot path writes a job row once per run that ends (job_store.cpp).
-- Without indexes on the columns it changes (status, finished_at_ms) and with room
-- on each page for a second version of its rows, PostgreSQL makes that a HOT
-- update: no index is written. Listing by status walks jobs_by_created or
-- jobs_by_tenant instead; retention walks jobs_by_created.
DROP INDEX jobs_by_status

DROP INDEX jobs_finished

postgresql:ALTER TABLE jobs SET (fillfactor = 50)
