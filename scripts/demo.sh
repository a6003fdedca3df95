#!/usr/bin/env bash
# The main job, end to end on the embedded default (SQLite): installs what is missing,
# builds, starts generator-backend and generator-worker, submits the invoice example over
# HTTP, waits for it and leaves the artifact on disk (the path is printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
scripts/bootstrap.sh
scripts/build.sh generator-backend generator-worker generator_text \
  $(grep -q 'add_subdirectory(pdf)' plugins/CMakeLists.txt && echo generator_pdf)
BIN="$ROOT/${BUILD_DIR:-build}/bin"

RUN_DIR="$ROOT/run/demo"
OUT_DIR="$ROOT/demo-output"
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR" "$OUT_DIR"

# shellcheck source=lib/free-port.sh
source "$ROOT/scripts/lib/free-port.sh"
export HOSTING__HOST=127.0.0.1
export HOSTING__PORT="$(free_port 8080)"
export HOSTING__METRICS_PORT="$(free_port 9091)"
export STORAGE__DATA_DIR="$RUN_DIR"
export PLUGINS__PATH="$ROOT/${BUILD_DIR:-build}/lib/generator/plugins"
export THREADS__DRAMATIQ_PROCESSES=1 THREADS__DRAMATIQ_THREADS=2
# Every /api route needs a credential: the demo makes a throw-away root API key.
AUTH__ROOT_API_KEY="demo-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export AUTH__ROOT_API_KEY
API="http://127.0.0.1:$HOSTING__PORT"
auth=(-H "Authorization: Bearer $AUTH__ROOT_API_KEY")

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

"$BIN/generator-backend" >"$RUN_DIR/backend.log" 2>&1 &
pids+=($!)
"$BIN/generator-worker" >"$RUN_DIR/worker.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
  curl -fsS "$API/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$API/health" >/dev/null || { echo "demo: backend did not start:"; cat "$RUN_DIR/backend.log"; exit 1; }
echo "demo: backend on $API, worker running (logs in $RUN_DIR)"

# Step 1 renders the Mustache template with the JSON data into Markdown; when the pdf plugin
# is loaded, step 2 typesets that Markdown into a PDF.
steps=$(jq -n --rawfile tpl examples/invoice/invoice.md.mustache \
  '[{generator: "text.template",
     params: {template: $tpl, media_type: "text/markdown", output_name: "invoice.md"}}]')
if curl -fsS "${auth[@]}" "$API/api/v1/generators" | jq -e '.generators[] | select(.id == "pdf.render")' >/dev/null; then
  steps=$(jq -c '. + [{generator: "pdf.render",
                       params: {title: "Invoice 2026-0042", author: "Acme Typesetting GmbH",
                                output_name: "invoice.pdf"}}]' <<<"$steps")
fi
body=$(jq -n --argjson steps "$steps" --arg data "$(base64 -w0 examples/invoice/data.json)" \
  '{inputs: [{name: "data.json", media_type: "application/json", content_base64: $data}],
    steps: $steps}')
job=$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' -d "$body" "$API/api/v1/jobs")
id=$(jq -r .id <<<"$job")
echo "demo: submitted job $id ($(jq -r '[.[].generator] | join(" -> ")' <<<"$steps"))"

status=QUEUED
for _ in $(seq 1 600); do
  status=$(curl -fsS "${auth[@]}" "$API/api/v1/jobs/$id" | jq -r .status)
  case "$status" in COMPLETED|FAILED|CANCELLED) break ;; esac
  sleep 0.1
done
if [ "$status" != COMPLETED ]; then
  echo "demo: job ended $status:"
  curl -fsS "${auth[@]}" "$API/api/v1/jobs/$id" | jq .
  exit 1
fi
name=$(curl -fsS "${auth[@]}" "$API/api/v1/jobs/$id/artifacts" | jq -r '.artifacts[0].name')
curl -fsS "${auth[@]}" -o "$OUT_DIR/$name" "$API/api/v1/jobs/$id/artifacts/$name"
echo "demo: job $id COMPLETED"
echo "demo: artifact written to $OUT_DIR/$name ($(stat -c %s "$OUT_DIR/$name") bytes)"
