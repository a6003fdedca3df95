-- Migration 14: the content library (issue 15, docs/content.md).

-- What a job is for: GENERATION (steps a client chose), CONTENT_IMPORT,
-- CONTENT_FIELD_GENERATION.
ALTER TABLE jobs ADD COLUMN type TEXT NOT NULL DEFAULT 'GENERATION'

-- A tenant's content: versions are numbered from 1 and never reused (next_version),
-- at most one is active.
CREATE TABLE content_items (
  tenant TEXT NOT NULL,
  content_id TEXT NOT NULL,
  next_version INTEGER NOT NULL,
  active_version INTEGER,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, content_id))

-- One version: its source (a blob of artifact_chunks owned by the version), what
-- extraction found, and its state: IMPORTING until the import's index step completes,
-- then READY; FAILED when the import failed. is_active is applied when it is READY.
CREATE TABLE content_versions (
  tenant TEXT NOT NULL,
  content_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  status TEXT NOT NULL,
  activate_when_ready INTEGER NOT NULL,
  job_id TEXT,
  source_name TEXT NOT NULL,
  source_media_type TEXT NOT NULL,
  source_size_bytes BIGINT NOT NULL,
  source_blob_id TEXT,
  format TEXT,
  title TEXT,
  language TEXT,
  token_count BIGINT NOT NULL DEFAULT 0,
  segment_count INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, content_id, version))

-- The content jobs: which version (and field) a job's outputs belong to.
CREATE TABLE content_jobs (
  job_id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  content_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  field TEXT NOT NULL,
  force_regenerate INTEGER NOT NULL)

-- The located text of a version, in document order. (SQLite: `id` is the rowid of the
-- segment's row in content_index, so it must be stable: INTEGER PRIMARY KEY.)
sqlite:CREATE TABLE content_segments (
  id INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  content_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  location TEXT NOT NULL,
  location_kind TEXT NOT NULL,
  text TEXT NOT NULL,
  tokens INTEGER NOT NULL,
  UNIQUE (tenant, content_id, version, seq))

postgresql:CREATE TABLE content_segments (
  tenant TEXT COLLATE "C" NOT NULL,
  content_id TEXT COLLATE "C" NOT NULL,
  version INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  location TEXT NOT NULL,
  location_kind TEXT NOT NULL,
  text TEXT NOT NULL,
  tokens INTEGER NOT NULL,
  PRIMARY KEY (tenant, content_id, version, seq))

-- Generated metadata: value is JSON (a string, an array of keywords, questions).
-- (SQLite: minus `id` is the rowid of the field's row in content_index.)
sqlite:CREATE TABLE content_fields (
  id INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  content_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  method TEXT NOT NULL,
  job_id TEXT,
  generated_at_ms BIGINT NOT NULL,
  UNIQUE (tenant, content_id, version, field))

postgresql:CREATE TABLE content_fields (
  tenant TEXT COLLATE "C" NOT NULL,
  content_id TEXT COLLATE "C" NOT NULL,
  version INTEGER NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  method TEXT NOT NULL,
  job_id TEXT,
  generated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, content_id, version, field))

-- The search index, one row per segment or field.
-- SQLite: FTS5 over terms analysed by gen::analysis (Snowball stems, stop words
-- dropped), one column per language so a query is stemmed in each row's language;
-- `scope` holds tokens for the tenant, the content and the kind of row, so tenant and
-- content filters are part of the full-text match. The rowid is content_segments.id
-- for a segment and minus content_fields.id for a field.
sqlite:CREATE VIRTUAL TABLE content_index USING fts5(
  scope, en, de, fr,
  tokenize = 'unicode61 remove_diacritics 0')

-- PostgreSQL: tsvector of the text through the row's language configuration (its
-- dictionary stems and drops stop words), GIN-indexed.
postgresql:CREATE TABLE content_index (
  tenant TEXT COLLATE "C" NOT NULL,
  content_id TEXT COLLATE "C" NOT NULL,
  version INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  field TEXT COLLATE "C" NOT NULL,
  config regconfig NOT NULL,
  tsv tsvector NOT NULL,
  PRIMARY KEY (tenant, content_id, version, seq, field))

-- A small pending list: with GIN's default (4 MB) every search scanned up to 4 MB of entries
-- not yet merged (1.3 ms of 1.4 ms for a rare word right after an import); with no pending
-- list (fastupdate off) each insert updated the index in place and imports took 8x longer.
-- No parallel scans: a search is small, and starting workers cost 8-15 ms each time.
postgresql:CREATE INDEX content_index_tsv ON content_index USING GIN (tsv) WITH (gin_pending_list_limit = 256)

postgresql:ALTER TABLE content_index SET (parallel_workers = 0)

postgresql:ALTER TABLE content_items ALTER COLUMN tenant TYPE text COLLATE "C", ALTER COLUMN content_id TYPE text COLLATE "C"

postgresql:ALTER TABLE content_versions ALTER COLUMN tenant TYPE text COLLATE "C", ALTER COLUMN content_id TYPE text COLLATE "C"

postgresql:ALTER TABLE content_jobs ALTER COLUMN job_id TYPE text COLLATE "C", ALTER COLUMN tenant TYPE text COLLATE "C", ALTER COLUMN content_id TYPE text COLLATE "C"
