#!/usr/bin/env bash
# Installs the reference implementation, authsome 0.7.2 from PyPI (its daemon and its CLI),
# into a virtual environment. The package asks for Python >= 3.13 but runs on 3.11 once
# mitmproxy is held below 12; bcrypt is pinned for passlib compatibility.
# Usage: scripts/install-reference.sh [VENV_DIR]   (default: .venv-reference)
set -euo pipefail
venv=${1:-.venv-reference}
if [ -x "$venv/bin/authsome" ] && "$venv/bin/authsome" --version 2>/dev/null | grep -q '0.7.2'; then
  exit 0
fi
# A dangling symlink (an old checkout tracked one) would make `python3 -m venv` fail with
# "File exists": replace it with a real directory.
if [ -L "$venv" ] && [ ! -e "$venv" ]; then
  rm "$venv"
fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q --ignore-requires-python \
  'authsome[redis,postgres]==0.7.2' 'mitmproxy==11.0.2' 'bcrypt==4.0.1'
"$venv/bin/authsome" --version
