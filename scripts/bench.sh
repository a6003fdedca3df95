#!/usr/bin/env bash
# Builds and runs the benchmarks; each prints its figures next to the peers' figures from
# the issues. Benchmarks are never part of the test suite (the machines are shared and noisy).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
BUILD_DIR="${BUILD_DIR:-build}"
targets=(bench_queue bench_pdf bench_template bench_edge bench_search)
[ -d bench/http ] && targets+=(bench_http)
scripts/build.sh "${targets[@]}" generator-backend generator-worker
GENERATOR_TEST_POSTGRES_URL="$(scripts/postgres-for-tests.sh | tail -n 1)"
export GENERATOR_TEST_POSTGRES_URL
for t in "${targets[@]}"; do
  if [ -x "$BUILD_DIR/bin/$t" ]; then
    echo "==== $t"
    # A bench that misses its target exits 1; the others still run.
    "$BUILD_DIR/bin/$t" || echo "==== $t exited with status $? (a target missed or an error above)"
  fi
done
