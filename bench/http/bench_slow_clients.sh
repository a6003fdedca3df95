#!/usr/bin/env bash
# bench_slow_clients: GET /health and GET /api/v1/jobs/{id} latency (p50/p99) from a client
# while 500 slow-drip connections from one address, 500 from many addresses, then both, hold
# the backend (issue 13; target p99 < 50 ms throughout). Loopback only. Not a test.
#
# usage: bench/http/bench_slow_clients.sh [BUILD_DIR] [SECONDS_PER_PHASE]
# needs: curl, jq, python3
set -euo pipefail

BUILD=${1:-build}
BUILD=$(cd "$BUILD" && pwd)
PHASE_S=${2:-15}
HERE=$(cd "$(dirname "$0")" && pwd)
for tool in curl jq python3; do
  command -v "$tool" >/dev/null || { echo "bench_slow_clients: $tool is missing" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/bench-slow.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API_PORT=$(free_port)
KEY=bench-root-key-0123456789abcdefghijklmnopqrstuvwxyz
export DATABASE__URL="sqlite://$WORK/generator.db" STORAGE__DATA_DIR="$WORK" \
  PLUGINS__PATH="$BUILD/lib/generator/plugins" HOSTING__PORT=$API_PORT \
  HOSTING__METRICS_PORT=$(free_port) AUTH__ROOT_API_KEY=$KEY LOGGING__LEVEL=warning \
  THREADS__DRAMATIQ_PROCESSES=1 THREADS__DRAMATIQ_THREADS=1
"$BUILD/bin/generator-backend" serve 2>"$WORK/backend.log" &
PIDS+=($!)
"$BUILD/bin/generator-worker" run 2>"$WORK/worker.log" &
WORKER=$!
PIDS+=($WORKER)
for _ in $(seq 100); do curl -fs "localhost:$API_PORT/health" >/dev/null && break; sleep 0.1; done
AUTH="Authorization: Bearer $KEY"
JOB=$(curl -fs -H "$AUTH" -H 'Content-Type: application/json' "localhost:$API_PORT/api/v1/jobs" -d '{
  "steps": [{"generator": "text.template", "params": {"template": "Hello!", "media_type": "text/plain"}}]}' | jq -r .id)
for _ in $(seq 200); do
  STATUS=$(curl -fs -H "$AUTH" "localhost:$API_PORT/api/v1/jobs/$JOB" | jq -r .status)
  [ "$STATUS" = COMPLETED ] && break
  sleep 0.05
done
[ "$STATUS" = COMPLETED ] || { echo "bench_slow_clients: the job did not complete ($STATUS)" >&2; cat "$WORK"/*.log >&2; exit 1; }
kill -TERM "$WORKER"; wait "$WORKER" 2>/dev/null || true

echo "bench_slow_clients: backend defaults (HOSTING__THREADS auto, header timeout 10 s," \
  "128 connections per address); $(nproc) cores"
python3 "$HERE/slow_clients.py" "$API_PORT" "$KEY" "$JOB" "$PHASE_S"
