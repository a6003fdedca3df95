#!/usr/bin/env bash
# A plugin author's services: generator-backend and generator-worker on 127.0.0.1, SQLite in a
# scratch folder, PLUGINS__PATH = the plugin's build folder (then the bundled plugins), and a
# throw-away root API key. When a .so in that folder changes (a rebuild), both are restarted:
# the services read plugins once at start, and the backend validates params with them.
#
# usage: scripts/plugin-dev.sh PLUGIN_BUILD_DIR [PORT]
#   needs scripts/build.sh generator-backend generator-worker (BUILD_DIR as for build.sh).
#   Logs: run/plugin-dev/{backend,worker}.log. Ctrl-C stops both. docs/writing-a-plugin.md
set -euo pipefail
[ $# -ge 1 ] && [ -d "$1" ] || { sed -n '7,9p' "$0" | sed 's/^# //'; exit 2; }
PLUGIN_DIR="$(cd "$1" && pwd)"
cd "$(dirname "$0")/.."
ROOT="$PWD"
BIN="$ROOT/${BUILD_DIR:-build}/bin"
for exe in generator-backend generator-worker; do
  [ -x "$BIN/$exe" ] || { echo "plugin-dev: no $BIN/$exe; run scripts/build.sh $exe" >&2; exit 2; }
done

RUN_DIR="$ROOT/run/plugin-dev"
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"

# shellcheck source=lib/free-port.sh
source "$ROOT/scripts/lib/free-port.sh"
export HOSTING__HOST=127.0.0.1
export HOSTING__PORT="${2:-$(free_port 8080)}"
export HOSTING__METRICS_PORT="$(free_port 9091)"
export STORAGE__DATA_DIR="$RUN_DIR"
export PLUGINS__PATH="$PLUGIN_DIR:$ROOT/${BUILD_DIR:-build}/lib/generator/plugins"
export THREADS__DRAMATIQ_PROCESSES=1 THREADS__DRAMATIQ_THREADS=2
export WORKER__DRAIN_TIMEOUT_S=5 LOGGING__LEVEL="${LOGGING__LEVEL:-info}"
AUTH__ROOT_API_KEY="dev-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export AUTH__ROOT_API_KEY
API="http://127.0.0.1:$HOSTING__PORT"

backend=0 worker=0
stop() {
  local pid
  for pid in "$@"; do [ "$pid" -gt 0 ] && kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do [ "$pid" -gt 0 ] && wait "$pid" 2>/dev/null || true; done
}
trap 'stop "$worker" "$backend"; echo; echo "plugin-dev: stopped"' EXIT
trap 'exit 0' INT TERM

start() {
  "$BIN/generator-backend" >>"$RUN_DIR/backend.log" 2>&1 &
  backend=$!
  for _ in $(seq 1 100); do
    curl -fsS "$API/health" >/dev/null 2>&1 && break
    kill -0 "$backend" 2>/dev/null || break
    sleep 0.1
  done
  curl -fsS "$API/health" >/dev/null 2>&1 ||
    { echo "plugin-dev: the backend did not start:"; tail -n 20 "$RUN_DIR/backend.log"; exit 1; }
  "$BIN/generator-worker" >>"$RUN_DIR/worker.log" 2>&1 &
  worker=$!
  # What the services made of the plugins in PLUGIN_DIR: state and error, from the backend.
  curl -fsS -H "Authorization: Bearer $AUTH__ROOT_API_KEY" "$API/api/v1/plugins" |
    jq -r --arg dir "$PLUGIN_DIR" '.plugins[]? | select((.path // "") | startswith($dir))
           | "plugin-dev:   \(if (.name // "") != "" then .name else .path end): \(.state)\(if (.error // "") != "" then " - " + .error else "" end)"' ||
    true
}

# The modules' names, sizes and times: a change means a rebuild.
modules() { find "$PLUGIN_DIR" -maxdepth 1 -name '*.so' -printf '%f %s %T@\n' 2>/dev/null | sort; }

start
echo "plugin-dev: backend on $API, worker running; plugins from $PLUGIN_DIR"
echo "plugin-dev: logs in $RUN_DIR; in another shell:"
echo "  export GENERATOR_URL=$API GENERATOR_TOKEN=$AUTH__ROOT_API_KEY"
seen="$(modules)"
for (( ; ; )); do
  sleep 1
  now="$(modules)"
  if [ "$now" != "$seen" ]; then
    sleep 1  # let the linker finish writing
    [ "$(modules)" = "$now" ] || continue
    seen="$now"
    echo "plugin-dev: $(date +%T) a module changed: restarting backend and worker"
    stop "$worker" "$backend"
    start
    continue
  fi
  for name in backend worker; do
    pid=${!name}
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "plugin-dev: the $name exited; its log ends:"
      tail -n 20 "$RUN_DIR/$name.log"
      exit 1
    fi
  done
done
