-- Migration 11: PostgreSQL: byte-wise ("C") collation for every text column.

-- PostgreSQL compares text with the database's collation: strcoll() through
-- varstr_cmp at every B-tree step, 7-8% of the server's time on the queue's hot
-- path (the claim index, (job_id, step), the jobs' key). Every text column of ours
-- is an id, a key, a name or a value nobody sorts by language, so it compares
-- bytes ("C"), as SQLite does (BINARY): memcmp, and the same order on both. All of
-- them at once, so that a comparison between two columns (jobs.tenant and
-- webhooks.tenant) never mixes collations and can still use an index. The type
-- stays text and the rows stay where they are; only the indexes are rebuilt.
postgresql:DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT c.oid::regclass AS tab, string_agg(format('ALTER COLUMN %I TYPE text COLLATE "C"', a.attname), ', ') AS alters
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
  WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
  AND c.relname IN ('jobs', 'tasks', 'task_attempts', 'artifacts', 'artifact_chunks',
  'uploads', 'tenants', 'credentials', 'api_keys', 'config_values', 'server_secrets',
  'change_counters', 'webhooks', 'webhook_deliveries', 'webhook_delivery_attempts')
  AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'text'::regtype
  AND a.attcollation <> (SELECT oid FROM pg_collation WHERE collname = 'C'
  AND collnamespace = 'pg_catalog'::regnamespace)
  GROUP BY c.oid
  LOOP EXECUTE format('ALTER TABLE %s %s', r.tab, r.alters); END LOOP; END $$
