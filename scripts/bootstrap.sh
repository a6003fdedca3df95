#!/usr/bin/env bash
# Installs the Debian 12 packages Generator needs to build, test and run. Idempotent and
# quiet when everything is present. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # libraries (see docs/dependencies in README)
  libpoco-dev qt6-base-dev nlohmann-json3-dev libkainjow-mustache-dev prometheus-cpp-dev
  libqpdf-dev libcmark-gfm-dev libcmark-gfm-extensions-dev libfreetype-dev libharfbuzz-dev
  libsystemd-dev libpq-dev libsqlite3-dev zlib1g-dev libdeflate-dev fonts-dejavu-core
  libssl-dev libjemalloc-dev
  # the content plugin (content.extract): HTML5 parsing, zip, XML
  libgumbo-dev libzip-dev libxml2-dev
  # fuzzing: clang with libFuzzer + ASan/UBSan runtimes (scripts/fuzz.sh)
  clang libclang-rt-14-dev llvm
  # tests, benchmarks and the demo
  libgtest-dev libgmock-dev libbenchmark-dev curl jq poppler-utils qpdf sqlite3 postgresql
  # monitoring: promtool (check metrics/rules in CI); bench/http: wrk against nginx
  prometheus wrk nginx-light
  # packages: build and lint the deb and rpm (scripts/package-test.sh)
  rpm lintian rpmlint systemd adduser yamllint
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# The OpenAPI linter runs on Node.js. A machine may already have Node.js from elsewhere
# (e.g. a nodejs package that bundles npm, which Debian's npm package conflicts with): only
# install Debian's when there is no npm at all.
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "bootstrap: need root to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Installing postgresql must not leave a cluster running on a public interface; tests start
# their own servers on 127.0.0.1.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "bootstrap: done" >&2
