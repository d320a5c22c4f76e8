#!/usr/bin/env bash
# Makes sure the Python tools venv (AUTHSOME_TOOLS_VENV, default .venv-tools) holds exactly
# scripts/tools-requirements.txt; reinstalls when that file changes. Prints the venv's path.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${AUTHSOME_TOOLS_VENV:-$PWD/.venv-tools}
stamp="$venv/.requirements.sha256"
wanted=$(sha256sum scripts/tools-requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "== installing the Python tools into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q -r scripts/tools-requirements.txt >&2
  echo "$wanted" > "$stamp"
fi
echo "$venv"
