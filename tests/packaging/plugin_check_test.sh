#!/usr/bin/env bash
# generator-plugin-check against the fixture plugins: every load state and every exit code.
# usage: plugin_check_test.sh <generator-plugin-check> <fixture plugin dir> <bundled plugin dir>
#                             <SDK ABI major>
set -euo pipefail
CHECK="$1" FIXTURES="$2" BUNDLED="$3" ABI="$4"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
failures=0

# expect <exit code> <description> -- <command...>: runs it, keeps stdout in $WORK/out.
expect() {
  local want="$1" what="$2"
  shift 3
  local got=0
  "$@" >"$WORK/out" 2>"$WORK/err" || got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"
    sed 's/^/  stdout: /' "$WORK/out"
    sed 's/^/  stderr: /' "$WORK/err"
    failures=$((failures + 1))
  else
    echo "ok:   $what (exit $got)"
  fi
}
# has <description> <jq filter>: the last JSON output satisfies the filter.
has() {
  if ! jq -e "$2" "$WORK/out" >/dev/null 2>&1; then
    echo "FAIL: $1: output does not satisfy $2"
    sed 's/^/  stdout: /' "$WORK/out"
    failures=$((failures + 1))
  fi
}

expect 0 "usage" -- "$CHECK" --help
grep -q "exit codes" "$WORK/out" || { echo "FAIL: --help lists no exit codes"; failures=$((failures + 1)); }
expect 2 "no plugin" -- "$CHECK"
expect 2 "missing file" -- "$CHECK" "$WORK/nothing.so"
expect 2 "unknown option" -- "$CHECK" --frobnicate "$FIXTURES/fixture_ok.so"
expect 2 "two plugins" -- "$CHECK" "$FIXTURES/fixture_ok.so" "$FIXTURES/fixture_ok.so"
expect 2 "run option without --run" -- "$CHECK" "$FIXTURES/fixture_ok.so" --input "$WORK/x.txt"
expect 0 "version" -- "$CHECK" --version
grep -q "plugin SDK ABI" "$WORK/out" || { echo "FAIL: --version names no SDK ABI"; failures=$((failures + 1)); }

expect 0 "fixture_ok loads" -- "$CHECK" --json "$FIXTURES/fixture_ok.so"
has "fixture_ok state" '.state == "LOADED" and .error == "" and .exit_code == 0'
has "fixture_ok manifest" '.metadata.iid == "io.generator.sdk.PluginRoot/'"$ABI"'" and .metadata.manifest.sdk_abi == '"$ABI"' and .metadata.manifest.cxx_abi == "libstdc++" and .metadata.manifest.version == "1.2.3"'
has "fixture_ok generators" '[.generators[].id] | index("fixture.echo") != null'
has "fixture.echo params" '.generators[] | select(.id == "fixture.echo") | .params | map(.name) | index("size") != null'

expect 0 "text output" -- "$CHECK" "$FIXTURES/fixture_ok.so"
grep -q "^state: *LOADED" "$WORK/out" || { echo "FAIL: text report has no LOADED state"; failures=$((failures + 1)); }
grep -q "fixture.echo" "$WORK/out" || { echo "FAIL: text report lists no fixture.echo"; failures=$((failures + 1)); }

expect 1 "wrong ABI" -- "$CHECK" --json "$FIXTURES/fixture_wrong_abi.so"
has "wrong ABI state" '.state == "INCOMPATIBLE" and (.error | test("SDK ABI '"$((ABI + 1))"'"))'
expect 1 "broken manifest" -- "$CHECK" --json "$FIXTURES/fixture_broken_manifest.so"
has "broken manifest state" '.state == "INVALID" and (.error | test("sdk_abi"))'
expect 1 "throws on register" -- "$CHECK" --json "$FIXTURES/fixture_throws_on_register.so"
has "throws state" '.state == "FAILED"'
expect 1 "not a plugin" -- "$CHECK" --json "$FIXTURES/fixture_not_a_plugin.so"
has "not a plugin state" '.state == "INVALID"'
expect 1 "garbage" -- "$CHECK" --json "$FIXTURES/garbage.so"
has "garbage state" '.state == "INVALID" and .metadata == null'
cp "$FIXTURES/fixture_ok.so" "$WORK/fixture_ok.module"
expect 1 "not named .so" -- "$CHECK" --json "$WORK/fixture_ok.module"
has "not named .so" '.state == "INVALID" and (.error | test("\\.so"))'
expect 3 "some generators refused" -- "$CHECK" --json "$FIXTURES/fixture_bad_generators.so"
has "refused generators" '.state == "LOADED" and .error != "" and (.generators | length) == 1'

# Runs, through the host's param validation.
printf 'line one\n' >"$WORK/in.txt"
expect 0 "run fixture.echo" -- "$CHECK" --json "$FIXTURES/fixture_ok.so" --run fixture.echo \
  --params '{"count": 2, "size": "A4"}' --input "$WORK/in.txt" \
  --input "$WORK/in.txt@text/x-custom" --output-dir "$WORK/out-echo"
has "echo run" '.run.status == "OK" and (.run.outputs | map(.name) | sort) == ["in.txt", "params.json"]'
has "echo media type" '.run.outputs[] | select(.name == "in.txt") | .media_type == "text/x-custom"'
has "echo inputs listed" '.run.inputs[0].file == "'"$WORK/in.txt"'" and .run.inputs[0].media_type == "text/plain" and .run.warnings == []'
# FILE:TYPE, the one syntax of every command line (FILE@TYPE above is the earlier spelling).
expect 0 "input FILE:TYPE" -- "$CHECK" --json "$FIXTURES/fixture_ok.so" --run fixture.echo \
  --input "$WORK/in.txt:text/x-other" --output-dir "$WORK/out-colon"
has "input FILE:TYPE" '.run.outputs[0].name == "in.txt" and .run.outputs[0].media_type == "text/x-other"'
# Errors name the user's file and the option that gave it.
expect 2 "unreadable input" -- "$CHECK" "$FIXTURES/fixture_ok.so" --run fixture.echo \
  --input "$WORK/missing.txt"
grep -q -- "--input $WORK/missing.txt: cannot read" "$WORK/err" ||
  { echo "FAIL: the error does not name the input file: $(cat "$WORK/err")"; failures=$((failures + 1)); }
printf '{' >"$WORK/bad-params.json"
expect 2 "params file not JSON" -- "$CHECK" "$FIXTURES/fixture_ok.so" --run fixture.echo \
  --params-file "$WORK/bad-params.json"
grep -q -- "--params-file $WORK/bad-params.json is not JSON" "$WORK/err" ||
  { echo "FAIL: the error does not name the params file: $(cat "$WORK/err")"; failures=$((failures + 1)); }
cmp -s "$WORK/in.txt" "$WORK/out-echo/in.txt" || { echo "FAIL: echo output differs"; failures=$((failures + 1)); }
jq -e '.count == 2 and .message == "hello" and .size == "A4"' "$WORK/out-echo/params.json" >/dev/null ||
  { echo "FAIL: params.json lacks the defaults: $(cat "$WORK/out-echo/params.json")"; failures=$((failures + 1)); }

expect 4 "unknown generator" -- "$CHECK" --json "$FIXTURES/fixture_ok.so" --run fixture.nope
has "unknown generator" '.run.status == "REFUSED"'
expect 4 "refused params" -- "$CHECK" --json "$FIXTURES/fixture_ok.so" --run fixture.echo --params '{"size": "A3"}'
has "refused params" '.run.status == "REFUSED" and (.run.message | test("params.size"))'
expect 2 "params not JSON" -- "$CHECK" "$FIXTURES/fixture_ok.so" --run fixture.echo --params '{'
expect 5 "permanent failure" -- "$CHECK" --json "$FIXTURES/fixture_ok.so" --run fixture.fail_permanent \
  --output-dir "$WORK/o"
has "permanent failure" '.run.status == "PERMANENT_FAILURE" and .run.message == "fixture: permanent failure"'
expect 6 "retryable failure" -- "$CHECK" --json "$FIXTURES/fixture_ok.so" --run fixture.fail_retryable \
  --output-dir "$WORK/o"
has "retryable failure" '.run.status == "RETRYABLE_FAILURE"'
expect 6 "throws" -- "$CHECK" --json "$FIXTURES/fixture_ok.so" --run fixture.throws --output-dir "$WORK/o"
has "throws" '.run.status == "RETRYABLE_FAILURE" and (.run.message | test("threw"))'

# The run is a child process: a crash is reported, not suffered.
expect 7 "crash (SIGSEGV)" -- "$CHECK" --json "$FIXTURES/fixture_ok.so" --run fixture.crash --output-dir "$WORK/o"
has "crash (SIGSEGV)" '.run.status == "CRASHED" and .run.signal == "SIGSEGV" and .exit_code == 7'
expect 7 "crash (abort)" -- "$CHECK" "$FIXTURES/fixture_ok.so" --run fixture.crash \
  --params '{"signal": "SIGABRT"}' --output-dir "$WORK/o"
grep -q "CRASHED: .*SIGABRT" "$WORK/out" || { echo "FAIL: text report names no SIGABRT"; failures=$((failures + 1)); }
# Past its time limit: TIMEOUT, and what it wrote is dropped as the worker drops it.
expect 6 "timed out, outputs dropped" -- "$CHECK" --json "$FIXTURES/fixture_ok.so" --run fixture.sleep \
  --params '{"ms": 300, "ignore_cancel": true}' --timeout-ms 50 --output-dir "$WORK/out-late"
has "timed out" '.run.status == "TIMEOUT" and .run.outputs == [] and .run.dropped_outputs == ["slept.txt"]'
[ ! -e "$WORK/out-late/slept.txt" ] || { echo "FAIL: a timed-out run's output was written"; failures=$((failures + 1)); }
# Still running after the limit and the grace: killed.
expect 6 "stuck, killed" -- "$CHECK" --json "$FIXTURES/fixture_ok.so" --run fixture.spin --timeout-ms 50 \
  --output-dir "$WORK/out-spin"
has "stuck, killed" '.run.status == "TIMEOUT" and (.run.message | test("killed"))'
expect 2 "bad --timeout-ms" -- "$CHECK" "$FIXTURES/fixture_ok.so" --run fixture.echo --timeout-ms soon

# A bundled plugin, for real.
if [ -f "$BUNDLED/generator-text.so" ]; then
  printf '{"who": "Ada"}' >"$WORK/data.json"
  expect 0 "text.template" -- "$CHECK" --json "$BUNDLED/generator-text.so" --run text.template \
    --params '{"template": "Hi {{who}}", "output_name": "hi.txt"}' --input "$WORK/data.json" \
    --output-dir "$WORK/out-text"
  [ "$(cat "$WORK/out-text/hi.txt" 2>/dev/null)" = "Hi Ada" ] ||
    { echo "FAIL: text.template wrote '$(cat "$WORK/out-text/hi.txt" 2>/dev/null)'"; failures=$((failures + 1)); }
  # An input the generator does not accept: a warning naming the file (the backend would
  # refuse the job).
  printf 'x' >"$WORK/pic.png"
  "$CHECK" --json "$BUNDLED/generator-text.so" --run text.template \
    --params '{"template": "Hi {{who}}"}' --input "$WORK/data.json" --input "$WORK/pic.png" \
    --output-dir "$WORK/out-text2" >"$WORK/out" 2>"$WORK/err" || true
  has "media type warning" '(.run.warnings | length) == 1 and (.run.warnings[0] | test("pic.png \\(image/png\\) is not accepted by text.template")) and .run.inputs[1].accepted == false'
fi

echo "plugin_check: $failures failure(s)"
[ "$failures" -eq 0 ]
