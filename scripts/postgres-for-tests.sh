#!/usr/bin/env bash
# Starts Debian's PostgreSQL cluster for the tests, listening on 127.0.0.1 only, with a
# role that may create the throw-away databases the tests make. Prints the admin URL the
# tests read from GENERATOR_TEST_POSTGRES_URL. Idempotent.
# stdout carries the URL alone: everything the PostgreSQL tools say goes to stderr (a
# "Removed stale pid file." on stdout once became part of the URL on a fresh CI machine).
set -euo pipefail
start_cluster() {
PORT="${GENERATOR_TEST_POSTGRES_PORT:-5432}"
ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$ver main$"; then
  pg_createcluster "$ver" main -p "$PORT" >/dev/null
fi
# conf.d is included last by Debian's postgresql.conf, so these win.
for key in listen_addresses port max_connections; do
  pg_conftool "$ver" main remove "$key" 2>/dev/null || true
done
cat >"/etc/postgresql/$ver/main/conf.d/generator-tests.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
max_connections = 300

CONF
if ! pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
  pg_ctlcluster "$ver" main start
else
  pg_ctlcluster "$ver" main restart
fi
ready=0
for _ in $(seq 1 100); do
  if runuser -u postgres -- pg_isready -q -p "$PORT"; then ready=1; break; fi
  sleep 0.2
done
if [ "$ready" != 1 ]; then
  echo "postgres-for-tests: PostgreSQL $ver did not accept connections on port $PORT" >&2
  exit 1
fi
runuser -u postgres -- psql -q -p "$PORT" -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'generator_test') THEN
    CREATE ROLE generator_test LOGIN CREATEDB PASSWORD 'generator_test';
  END IF;
END $$;
SQL
}
# The server inherits stderr, never the caller's stdout (a $(...) would wait for it to close).
start_cluster >&2
echo "postgresql://generator_test:generator_test@127.0.0.1:$PORT/postgres"
