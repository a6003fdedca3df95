-- Migration 13: credential generations.

-- A credential's incarnation, carried in its access tokens: deleting a credential
-- and creating another with the same id (or deactivating it) revokes the old
-- tokens for good. Rows and tokens from before have "" and keep matching.
ALTER TABLE credentials ADD COLUMN generation TEXT NOT NULL DEFAULT ''

postgresql:ALTER TABLE credentials ALTER COLUMN generation TYPE text COLLATE "C"
