#!/usr/bin/env bash
# The plugin author's path as docs/writing-a-plugin.md writes it: the SDK installed without
# root into $HOME/generator-sdk (its section 1), every code block marked
# `<!-- test: file PATH -->` written to PATH in a clean folder, then the block marked
# `<!-- test: run -->` run there as it is (build, unit tests, generator-plugin-check), with
# -DCMAKE_PREFIX_PATH as section 5 says for a non-root SDK.
# usage: doc_snippets_test.sh <build dir> <source dir> <generator-plugin-check>
set -euo pipefail
BUILD="$1" SOURCE="$2" CHECK="$3"
GUIDE="$SOURCE/docs/writing-a-plugin.md"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

export HOME="$WORK/home"
mkdir -p "$HOME"
cmake --install "$BUILD" --component sdk --prefix "$HOME/generator-sdk" >"$WORK/install.log" ||
  { cat "$WORK/install.log"; fail "cmake --install --component sdk"; }

# Extract: a marker line, then the next fenced block.
PROJECT="$WORK/hello"
mkdir -p "$PROJECT"
awk -v dir="$PROJECT" '
  /^<!-- test: file [^ ]+ -->$/ { target = dir "/" $4; next }
  /^<!-- test: run -->$/        { target = dir "/guide-run.sh"; next }
  target != "" && !inside && /^```/ { inside = 1; system("mkdir -p \"$(dirname \"" target "\")\""); printf "" > target; next }
  inside && /^```$/             { inside = 0; close(target); target = ""; next }
  inside                        { print >> target }
' "$GUIDE"
for f in CMakeLists.txt src/greet.hpp src/plugin.cpp test/greet_test.cpp guide-run.sh; do
  [ -s "$PROJECT/$f" ] || fail "the guide has no block marked for $f"
done
echo "doc_snippets: extracted $(find "$PROJECT" -type f | wc -l) files from the guide"

# Run section 5's block as written; the environment adds what the guide tells a reader to add
# for a non-root SDK (CMAKE_PREFIX_PATH) and puts generator-plugin-check on PATH.
export CMAKE_PREFIX_PATH="$HOME/generator-sdk"
export CMAKE_GENERATOR=Ninja
command -v ccache >/dev/null && export CMAKE_CXX_COMPILER_LAUNCHER=ccache
export PATH="$(dirname "$CHECK"):$PATH"
(cd "$PROJECT" && bash -euo pipefail guide-run.sh) >"$WORK/run.log" 2>&1 ||
  { cat "$WORK/run.log"; fail "section 5's commands"; }
grep -q "GeneratorSDK_DIR:PATH=$HOME/generator-sdk" "$PROJECT/build/CMakeCache.txt" ||
  fail "the guide's project did not use the SDK installed in \$HOME/generator-sdk"
grep -qE "100% tests passed, 0 tests failed out of [4-9]" "$WORK/run.log" ||
  { cat "$WORK/run.log"; fail "the guide's unit tests did not all run and pass"; }
grep -q "^state: *LOADED" "$WORK/run.log" || { cat "$WORK/run.log"; fail "the module did not load"; }
[ "$(cat "$PROJECT/out/greeting.txt")" = $'Hello, Ada!\nHello, Grace!' ] ||
  fail "greeting.txt is '$(cat "$PROJECT/out/greeting.txt")'"
if grep -q "warning" "$WORK/run.log"; then
  cat "$WORK/run.log"; fail "the guide's project builds or runs with warnings"
fi
echo "doc_snippets: the guide's project built against the installed SDK, tested and run"
