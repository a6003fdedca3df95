-- Migration 12: PostgreSQL: no foreign key from tasks to jobs.

-- PostgreSQL: the tasks' foreign key to their job cost a lookup and a row lock on
-- the job (FOR KEY SHARE) per submitted task, and a key comparison in a trigger
-- per claim and per completion. A job's tasks are inserted with it in one
-- statement and deleted before it, explicitly (JobStore::delete_job, prune_finished),
-- as the attempts are since migration 10.
postgresql:ALTER TABLE tasks DROP CONSTRAINT tasks_job_id_fkey
