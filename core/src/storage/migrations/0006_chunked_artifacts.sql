-- Migration 6: chunked artifacts and staged uploads.

-- Large artifacts live in ~1 MiB chunks (streamed uploads and downloads); an
-- artifact with a blob_id keeps an empty inline `data`. A blob being uploaded has
-- an `uploads` row until the submission that links it commits; rows left behind
-- by a crashed upload are pruned with their chunks (JobStore::prune_finished).
ALTER TABLE artifacts ADD COLUMN blob_id TEXT

CREATE TABLE artifact_chunks (
  blob_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  offset_bytes BIGINT NOT NULL,
  data {BLOB} NOT NULL,
  PRIMARY KEY (blob_id, seq))

CREATE TABLE uploads (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL)

CREATE INDEX uploads_by_updated ON uploads (updated_at_ms)
