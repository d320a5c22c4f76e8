#!/usr/bin/env bash
# Validates the committed OpenAPI document as OpenAPI 3 with openapi-spec-validator (PyPI),
# installed on first use into a tools venv (AUTHSOME_TOOLS_VENV, default .venv-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${AUTHSOME_TOOLS_VENV:-$PWD/.venv-tools}
if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q 'openapi-spec-validator==0.7.1'
fi
"$venv/bin/openapi-spec-validator" openapi/openapi.json
