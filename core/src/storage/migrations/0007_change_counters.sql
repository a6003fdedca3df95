-- Migration 7: change counters for the read caches.

-- Change counters the backends poll to keep read caches honest (credentials, API
-- keys and tenants: "auth"; deleted jobs: "jobs_deleted"). Triggers bump them, so
-- every writer counts, generatorctl's direct writes included.
CREATE TABLE change_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)

INSERT INTO change_counters (name, value) VALUES ('auth', 0), ('jobs_deleted', 0)

sqlite:CREATE TRIGGER credentials_insert_counted AFTER INSERT ON credentials BEGIN
  UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END

sqlite:CREATE TRIGGER credentials_update_counted AFTER UPDATE ON credentials BEGIN
  UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END

sqlite:CREATE TRIGGER credentials_delete_counted AFTER DELETE ON credentials BEGIN
  UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END

sqlite:CREATE TRIGGER api_keys_insert_counted AFTER INSERT ON api_keys BEGIN
  UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END

sqlite:CREATE TRIGGER api_keys_update_counted AFTER UPDATE ON api_keys BEGIN
  UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END

sqlite:CREATE TRIGGER api_keys_delete_counted AFTER DELETE ON api_keys BEGIN
  UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END

sqlite:CREATE TRIGGER tenants_insert_counted AFTER INSERT ON tenants BEGIN
  UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END

sqlite:CREATE TRIGGER tenants_update_counted AFTER UPDATE ON tenants BEGIN
  UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END

sqlite:CREATE TRIGGER tenants_delete_counted AFTER DELETE ON tenants BEGIN
  UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END

sqlite:CREATE TRIGGER jobs_delete_counted AFTER DELETE ON jobs BEGIN
  UPDATE change_counters SET value = value + 1 WHERE name = 'jobs_deleted'; END

postgresql:CREATE FUNCTION generator_count_change() RETURNS trigger LANGUAGE plpgsql
  AS $$ BEGIN UPDATE change_counters SET value = value + 1 WHERE name = TG_ARGV[0];
  RETURN NULL; END $$

postgresql:CREATE TRIGGER credentials_counted AFTER INSERT OR UPDATE OR DELETE ON
  credentials FOR EACH STATEMENT EXECUTE FUNCTION generator_count_change('auth')

postgresql:CREATE TRIGGER api_keys_counted AFTER INSERT OR UPDATE OR DELETE ON
  api_keys FOR EACH STATEMENT EXECUTE FUNCTION generator_count_change('auth')

postgresql:CREATE TRIGGER tenants_counted AFTER INSERT OR UPDATE OR DELETE ON
  tenants FOR EACH STATEMENT EXECUTE FUNCTION generator_count_change('auth')

-- Pruning runs often and mostly deletes nothing: count only real deletions.
postgresql:CREATE FUNCTION generator_count_jobs_deleted() RETURNS trigger
  LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT 1 FROM gone) THEN
  UPDATE change_counters SET value = value + 1 WHERE name = 'jobs_deleted';
  END IF; RETURN NULL; END $$

postgresql:CREATE TRIGGER jobs_delete_counted AFTER DELETE ON jobs
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
  EXECUTE FUNCTION generator_count_jobs_deleted()
