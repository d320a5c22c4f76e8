#!/usr/bin/env bash
# Generates clients from the committed OpenAPI document and runs the client scenario with each
# (clients/tests): Python (openapi-python-client + clients/python's PopAuth) and TypeScript
# (openapi-typescript + openapi-fetch + clients/typescript's popMiddleware, type-checked with
# tsc). Needs AUTHSOME_RS_BIN (scripts/test builds it) and node.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AUTHSOME_RS_BIN:?set AUTHSOME_RS_BIN to the authsome binary (scripts/test does)}"
venv=$(scripts/tools-venv.sh)
(
  cd clients/typescript
  [ -d node_modules/openapi-fetch ] || npm ci --no-audit --no-fund --silent
  npm run --silent generate >/dev/null
  npm run --silent build
)
"$venv/bin/python" -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning clients/tests
