#!/usr/bin/env bash
# Schemathesis over the whole committed OpenAPI document against a running authsome-rs
# (tests/conformance): unauthenticated, PoP-signed and browser-session passes; 0 server
# errors and 0 responses that break the document, every operation reached past
# authentication. Needs AUTHSOME_RS_BIN (scripts/test builds it). Examples per operation and
# pass: AUTHSOME_CONFORMANCE_EXAMPLES (default 25).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AUTHSOME_RS_BIN:?set AUTHSOME_RS_BIN to the authsome binary (scripts/test does)}"
venv=$(scripts/tools-venv.sh)
export AUTHSOME_CONFORMANCE_REPORT=${AUTHSOME_CONFORMANCE_REPORT:-$(mktemp -t authsome-conformance.XXXXXX.json)}
"$venv/bin/python" -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning tests/conformance
"$venv/bin/python" - "$AUTHSOME_CONFORMANCE_REPORT" <<'PY'
import collections, json, sys
report = json.load(open(sys.argv[1]))
by_pass = collections.defaultdict(collections.Counter)
for key, statuses in report.items():
    by_pass[key.split(" ", 1)[0]].update(statuses)
for name, statuses in sorted(by_pass.items()):
    print(f"conformance {name}: {sum(statuses.values())} requests, by status {dict(sorted(statuses.items()))}")
PY
