-- Migration 10: PostgreSQL: no index on task ids.

-- PostgreSQL: a task's claim and completion are non-HOT updates (its state is in
-- the partial indexes' predicates), so each writes an entry in every index of
-- tasks. Tasks are found by (job_id, step), their UNIQUE key, never by id alone,
-- so the id's index goes: one index entry less per write. (Ids stay unique: they
-- are UUIDv7.) The attempts' foreign key needed that index; attempts are deleted
-- with their tasks explicitly. SQLite keeps both: it writes only the indexes whose
-- columns change.
postgresql:ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_task_id_fkey

postgresql:ALTER TABLE tasks DROP CONSTRAINT tasks_pkey
