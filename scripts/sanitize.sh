#!/usr/bin/env bash
# Builds everything into build-asan with AddressSanitizer + UndefinedBehaviorSanitizer (gcc)
# and runs the test suite there. Not part of CI (about twice the build and test time of
# scripts/test.sh); run it before a release and after changes to parsing or memory handling.
#
#   scripts/sanitize.sh                    build everything, run the whole suite
#   scripts/sanitize.sh -R 'Params|Pdf'    extra arguments go to ctest
#   SANITIZE_TARGETS="core_tests" scripts/sanitize.sh -R Params   build only those targets
#
# Any sanitizer report aborts the process, so the test fails. Memory figures are ASan's in this
# build: tests that measure process memory leave them out, and the out-of-memory tests skip,
# saying why (tests/support/sanitizers.hpp). Leak checking is off by default
# (the services keep process-lifetime singletons: Poco, Qt, prometheus-cpp); turn it on with
# ASAN_OPTIONS=detect_leaks=1:abort_on_error=1.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${SANITIZE_BUILD_DIR:-build-asan}"
JOBS="${JOBS:-2}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
scripts/bootstrap.sh
start=$(date +%s)
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_MODULE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DGENERATOR_BUILD_BENCH=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
fi
# shellcheck disable=SC2086  # SANITIZE_TARGETS is a list of target names
cmake --build "$BUILD_DIR" -j"$JOBS" ${SANITIZE_TARGETS:+--target $SANITIZE_TARGETS}
built=$(date +%s)
echo "sanitize build: $((built - start)) s"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
GENERATOR_TEST_POSTGRES_URL="${GENERATOR_TEST_POSTGRES_URL:-$(scripts/postgres-for-tests.sh | tail -n 1)}"
export GENERATOR_TEST_POSTGRES_URL
status=0
# Sanitized code runs 2-5x slower: a longer per-test timeout than test.sh's.
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 1800 -j"$JOBS" "$@" || status=$?
echo "sanitize tests: $(($(date +%s) - built)) s"
exit $status
