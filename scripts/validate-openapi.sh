#!/usr/bin/env bash
# Validates the committed OpenAPI document as OpenAPI 3 with openapi-spec-validator (PyPI),
# from the tools venv (scripts/tools-venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(scripts/tools-venv.sh)
"$venv/bin/openapi-spec-validator" openapi/openapi.json
