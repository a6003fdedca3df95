#!/usr/bin/env bash
# The test command: installs what is missing, builds everything and runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
start=$(date +%s)
scripts/build.sh
built=$(date +%s)
echo "build: $((built - start)) s"
BUILD_DIR="${BUILD_DIR:-build}"
# Storage tests run on SQLite and on PostgreSQL: start the local server (127.0.0.1 only).
GENERATOR_TEST_POSTGRES_URL="$(scripts/postgres-for-tests.sh | tail -n 1)"
export GENERATOR_TEST_POSTGRES_URL
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 900 -j"${JOBS:-2}" || status=$?
echo "tests: $(($(date +%s) - built)) s"
# The fuzz targets (clang, ASan+UBSan, their own build-fuzz): every corpus input replayed,
# then each target fuzzed for FUZZ_SECONDS (20; 0 = replay only). A crash fails the run.
fuzzed=$(date +%s)
scripts/fuzz.sh "${FUZZ_SECONDS:-20}" || status=$?
echo "fuzz: $(($(date +%s) - fuzzed)) s"
exit $status
