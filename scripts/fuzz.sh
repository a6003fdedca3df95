#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) into build-fuzz with clang under ASan+UBSan and
# runs each for N seconds, starting from its seed corpus tests/fuzz/corpus/<target>/ (every
# seed is replayed first). Exit status 1 when any target crashed, leaked, hung (-timeout) or
# passed its memory limit; the input that did it is in build-fuzz/crashes/<target>/.
#
#   scripts/fuzz.sh [seconds] [target...]   default: 600 s each, every target
#   scripts/fuzz.sh 0                       replay the corpora only
#
# New inputs the fuzzer finds go to build-fuzz/fuzz-work/<target>/ (kept between runs, never
# into the repository). FUZZ_MERGE=1 merges the ones that add coverage into the seed corpus
# (minimised: libFuzzer's -merge=1). After a crash: fix it, copy the crasher into
# tests/fuzz/corpus/<target>/ as a regression input, and rerun.
# Env: FUZZ_BUILD_DIR (build-fuzz), JOBS (2), FUZZ_RSS_LIMIT_MB (2048), FUZZ_TIMEOUT_S (10).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-600}"
shift || true
ALL_TARGETS=(job_request multipart range rfc3339 mustache markdown pdf http_head content_extract)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")
BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
JOBS="${JOBS:-2}"
RSS_LIMIT_MB="${FUZZ_RSS_LIMIT_MB:-2048}"
TIMEOUT_S="${FUZZ_TIMEOUT_S:-10}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"

# The largest input each target tries: big enough for its format, small enough that one
# execution stays in milliseconds.
max_len() {
  case "$1" in
    range | rfc3339) echo 256 ;;
    mustache) echo 4096 ;;
    markdown) echo 8192 ;;
    pdf | content_extract) echo 65536 ;;
    *) echo 16384 ;;
  esac
}

# One line from libFuzzer's final stats: executions, coverage (cov: edges, ft: features),
# corpus size, peak memory.
summary() {
  awk -v t="$1" '
    /^#[0-9]+[ \t]+DONE/ { for (i = 1; i <= NF; i++) { if ($i == "cov:") cov = $(i + 1);
                                                      if ($i == "ft:") ft = $(i + 1);
                                                      if ($i == "corp:") corp = $(i + 1) } }
    /^stat::number_of_executed_units:/ { runs = $2 }
    /^stat::peak_rss_mb:/ { rss = $2 }
    END { printf "fuzz: %s ok: %s runs, cov %s, ft %s, corpus %s, peak %s MB\n", t, runs, cov, ft, corp, rss }' "$2"
}

start=$(date +%s)
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  # -O1 with line tables: fast to compile, still quick to run, symbolised stacks, and
  # assertions on (no NDEBUG).
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DGENERATOR_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
fi
cmake --build "$BUILD_DIR" -j"$JOBS" --target fuzz_targets
echo "fuzz build: $(($(date +%s) - start)) s"

# Fatal on any report; leaks count. Symbolised stacks come from llvm-symbolizer.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi

failed=()
for target in "${TARGETS[@]}"; do
  exe="$BUILD_DIR/fuzz/${target}_fuzz"
  seeds="tests/fuzz/corpus/$target"
  work="$BUILD_DIR/fuzz-work/$target"
  crashes="$BUILD_DIR/crashes/$target"
  log="$BUILD_DIR/fuzz-logs/$target.log"
  [ -x "$exe" ] || { echo "fuzz: no target '$target' (have: ${ALL_TARGETS[*]})" >&2; exit 2; }
  mkdir -p "$work" "$crashes" "$(dirname "$log")"
  args=(-rss_limit_mb="$RSS_LIMIT_MB" -timeout="$TIMEOUT_S" -max_len="$(max_len "$target")"
        -artifact_prefix="$crashes/" -print_final_stats=1)
  if [ "$SECONDS_EACH" -gt 0 ]; then
    args+=(-max_total_time="$SECONDS_EACH")
  else
    args+=(-runs=0)  # replay the corpora, nothing more
  fi
  echo "fuzz: $target for ${SECONDS_EACH} s (log: $log)"
  # The first folder receives what the run finds; the seeds are only read.
  if "$exe" "${args[@]}" "$work" "$seeds" >"$log" 2>&1; then
    summary "$target" "$log"
  else
    failed+=("$target")
    echo "fuzz: $target FAILED; crasher in $crashes/; end of $log:" >&2
    grep -E -A 25 '^==[0-9]+==|runtime error|Test unit written' "$log" | head -60 >&2 ||
      tail -40 "$log" >&2
  fi
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    "$exe" -merge=1 -rss_limit_mb="$RSS_LIMIT_MB" -timeout="$TIMEOUT_S" \
      -max_len="$(max_len "$target")" "$seeds" "$work" >>"$log" 2>&1
    echo "fuzz: $target corpus now $(find "$seeds" -type f | wc -l) files"
  fi
done
echo "fuzz: $(($(date +%s) - start)) s in all"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
