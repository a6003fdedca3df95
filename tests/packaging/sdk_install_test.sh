#!/usr/bin/env bash
# The SDK as a product, without root: install the `sdk` component into a temp prefix, build
# examples/hello-plugin out of tree against it (find_package(GeneratorSDK)), run its unit
# tests, then load and run the module with generator-plugin-check.
# usage: sdk_install_test.sh <build dir> <source dir> <generator-plugin-check> <SDK ABI major>
set -euo pipefail
BUILD="$1" SOURCE="$2" CHECK="$3" ABI="$4"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cmake --install "$BUILD" --component sdk --prefix "$WORK/prefix" >"$WORK/install.log"
config=$(find "$WORK/prefix" -name GeneratorSDKConfig.cmake)
[ -n "$config" ] || { echo "FAIL: no GeneratorSDKConfig.cmake installed"; cat "$WORK/install.log"; exit 1; }
for header in generator.hpp testing.hpp; do
  [ -f "$WORK/prefix/include/gen/sdk/$header" ] || { echo "FAIL: gen/sdk/$header not installed"; exit 1; }
done
# Only the SDK: no service binaries or plugins in this component.
if find "$WORK/prefix" -name '*.so' -o -name 'generator-*' -type f | grep -q .; then
  echo "FAIL: the sdk component installs runtime files:"; find "$WORK/prefix" -type f; exit 1
fi

# A copy in a clean folder, far from the source tree, as a third party would have it.
cp -r "$SOURCE/examples/hello-plugin" "$WORK/hello"
rm -rf "$WORK/hello/build"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$WORK/hello" -B "$WORK/hello/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$WORK/prefix" "${launcher[@]}" >"$WORK/configure.log" 2>&1 ||
  { echo "FAIL: configure"; cat "$WORK/configure.log"; exit 1; }
grep -q "GeneratorSDK_DIR:PATH=$WORK/prefix" "$WORK/hello/build/CMakeCache.txt" ||
  { echo "FAIL: the example did not use the installed SDK:"; grep GeneratorSDK_DIR "$WORK/hello/build/CMakeCache.txt"; exit 1; }
cmake --build "$WORK/hello/build" -j2 >"$WORK/build.log" 2>&1 ||
  { echo "FAIL: build"; cat "$WORK/build.log"; exit 1; }
if grep -q "warning:" "$WORK/build.log"; then
  echo "FAIL: the example builds with warnings"; grep "warning:" "$WORK/build.log"; exit 1
fi
ctest --test-dir "$WORK/hello/build" --output-on-failure >"$WORK/ctest.log" 2>&1 ||
  { echo "FAIL: the example's unit tests"; cat "$WORK/ctest.log"; exit 1; }
grep -E "tests passed" "$WORK/ctest.log"
tests_run=$(grep -oE "out of [0-9]+" "$WORK/ctest.log" | awk '{print $3}')
[ "${tests_run:-0}" -ge 5 ] || { echo "FAIL: only ${tests_run:-0} example tests ran"; exit 1; }

module="$WORK/hello/build/generator-hello.so"
"$CHECK" --json "$module" >"$WORK/check.json" || { echo "FAIL: plugin-check"; cat "$WORK/check.json"; exit 1; }
jq -e --argjson abi "$ABI" '.state == "LOADED" and .name == "hello" and .version == "1.0.0" and
       .metadata.manifest.sdk_abi == $abi and ([.generators[].id] == ["hello.greet"])' \
  "$WORK/check.json" >/dev/null || { echo "FAIL: manifest/state"; cat "$WORK/check.json"; exit 1; }
printf 'Ada\nGrace\n' >"$WORK/names.txt"
"$CHECK" "$module" --run hello.greet --params '{"punctuation": "."}' --input "$WORK/names.txt" \
  --output-dir "$WORK/out" >"$WORK/run.txt" || { echo "FAIL: run"; cat "$WORK/run.txt"; exit 1; }
expected=$'Hello, Ada.\nHello, Grace.'
[ "$(cat "$WORK/out/greeting.txt")" = "$expected" ] ||
  { echo "FAIL: greeting.txt is '$(cat "$WORK/out/greeting.txt")'"; exit 1; }

# The example installs its module where the services look: <prefix>/lib/generator/plugins.
cmake --install "$WORK/hello/build" --prefix "$WORK/plugins-prefix" >/dev/null
[ -f "$WORK/plugins-prefix/lib/generator/plugins/generator-hello.so" ] ||
  { echo "FAIL: the example installs elsewhere:"; find "$WORK/plugins-prefix" -type f; exit 1; }
echo "sdk_install: hello-plugin built against the installed SDK, tested, loaded and run"
