#!/usr/bin/env bash
# bench_http: requests/s of generator-backend under wrk (64 connections) for
#   GET /api/v1/jobs/{id}   (a completed one-step job: tasks, attempts, artifacts; and a job
#                            still queued, which is not cached)
#   GET /metrics
# next to nginx serving a static file of the same size in the same run, on this machine.
# Target (issue 6): the job-status route at >= 50% of nginx.
#
# usage: bench/http/bench_http.sh [BUILD_DIR] [DURATION_S]
# needs: wrk, nginx (Debian: wrk nginx-light; scripts/bootstrap.sh installs them), curl, jq
set -euo pipefail

BUILD=${1:-build}
BUILD=$(cd "$BUILD" && pwd)
DURATION=${2:-10}
CONNECTIONS=64
THREADS=${WRK_THREADS:-2}
for tool in wrk nginx curl jq; do
  command -v "$tool" >/dev/null || { echo "bench_http: $tool is missing (scripts/bootstrap.sh)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/bench-http.XXXXXX)
chmod 755 "$WORK"  # nginx workers run as another user
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API_PORT=$(free_port)
METRICS_PORT=$(free_port)
NGINX_PORT=$(free_port)
KEY=bench-root-key-0123456789abcdefghijklmnopqrstuvwxyz

export DATABASE__URL="sqlite://$WORK/generator.db" STORAGE__DATA_DIR="$WORK" \
  PLUGINS__PATH="$BUILD/lib/generator/plugins" HOSTING__PORT=$API_PORT \
  HOSTING__METRICS_PORT=$METRICS_PORT AUTH__ROOT_API_KEY=$KEY LOGGING__LEVEL=warning \
  THREADS__DRAMATIQ_PROCESSES=1 THREADS__DRAMATIQ_THREADS=1
"$BUILD/bin/generator-backend" serve 2>"$WORK/backend.log" &
PIDS+=($!)
"$BUILD/bin/generator-worker" run 2>"$WORK/worker.log" &
WORKER=$!
PIDS+=($WORKER)
for _ in $(seq 100); do curl -fs "localhost:$API_PORT/health" >/dev/null && break; sleep 0.1; done

AUTH="Authorization: Bearer $KEY"
JOB=$(curl -fs -H "$AUTH" -H 'Content-Type: application/json' "localhost:$API_PORT/api/v1/jobs" -d '{
  "steps": [{"generator": "text.template",
             "params": {"template": "Hello {{name}}!", "data": {"name": "World"},
                        "media_type": "text/plain"}}]}' | jq -r .id)
for _ in $(seq 200); do
  STATUS=$(curl -fs -H "$AUTH" "localhost:$API_PORT/api/v1/jobs/$JOB" | jq -r .status)
  [ "$STATUS" = COMPLETED ] && break
  sleep 0.05
done
[ "$STATUS" = COMPLETED ] || { echo "bench_http: the job did not complete ($STATUS)" >&2; cat "$WORK"/*.log >&2; exit 1; }
kill -TERM "$WORKER"; wait "$WORKER" 2>/dev/null || true  # the worker is not part of the figure
# A job that stays QUEUED (no worker any more): its answer is read from the database each
# time, where a finished job's comes from the backend's read cache.
QUEUED=$(curl -fs -H "$AUTH" -H 'Content-Type: application/json' "localhost:$API_PORT/api/v1/jobs" -d '{
  "steps": [{"generator": "text.template", "params": {"template": "Hello!"}}]}' | jq -r .id)

# nginx serves the job's own JSON as a static file: same response size.
mkdir -p "$WORK/www" "$WORK/nginx"
curl -fs -H "$AUTH" "localhost:$API_PORT/api/v1/jobs/$JOB" >"$WORK/www/job.json"
chmod -R a+rX "$WORK/www"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes auto;
error_log $WORK/nginx/error.log;
pid $WORK/nginx/nginx.pid;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx;
  fastcgi_temp_path $WORK/nginx; uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/www; default_type application/json; }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
PIDS+=($!)
for _ in $(seq 50); do curl -fs "localhost:$NGINX_PORT/job.json" >/dev/null && break; sleep 0.1; done

# Runs wrk on a URL (extra args: headers); sets RPS and BAD (non-2xx/3xx responses + socket errors).
run_wrk() {
  local url=$1; shift
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$@" "$url")
  echo "$out" >>"$WORK/wrk.log"
  RPS=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  BAD=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }

echo "bench_http: wrk ${THREADS} threads, $CONNECTIONS connections, ${DURATION} s each; $(nproc) cores"
echo "  response: $(wc -c <"$WORK/www/job.json") bytes (the job's JSON, also nginx's file)"
run_wrk "http://127.0.0.1:$NGINX_PORT/job.json"
NGINX_RPS=$RPS
printf '  %-28s %9.0f req/s  %7d errors\n' "nginx static file" "$NGINX_RPS" "$BAD"
report() {  # name, extra text
  printf '  %-28s %9.0f req/s  %7d errors  %s of nginx%s\n' "$1" "$RPS" "$BAD" "$(ratio "$RPS" "$NGINX_RPS")" "$2"
}
run_wrk "http://127.0.0.1:$API_PORT/api/v1/jobs/$JOB" -H "$AUTH"
report "GET /api/v1/jobs/{id}" " (target >= 50%; a finished job, from the read cache)"
run_wrk "http://127.0.0.1:$API_PORT/api/v1/jobs/$QUEUED" -H "$AUTH"
report "GET /api/v1/jobs/{id} queued" " (read from the database each time)"
run_wrk "http://127.0.0.1:$API_PORT/metrics"
report "GET /metrics" ""
run_wrk "http://127.0.0.1:$API_PORT/health"
report "GET /health (HTTP layer)" ""
echo "  (issue 6 reference: nginx did 36,300 req/s on this machine)"
