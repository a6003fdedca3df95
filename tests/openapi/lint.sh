#!/bin/sh
# CTest openapi_lint: validates docs/openapi.json with Redocly's CLI (recommended-strict rules).
# Installs the pinned linter from package-lock.json (npm ci) when it is missing or stale.
# Exit 77 (CTest: skipped) when node/npm are not installed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command -v npm >/dev/null 2>&1 || { echo "openapi_lint: npm not found; skipped"; exit 77; }
cd "$here"
if [ ! -x node_modules/.bin/redocly ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node_modules/.bin/redocly lint --config redocly.yaml ../../docs/openapi.json
