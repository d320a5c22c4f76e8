#!/usr/bin/env bash
# Regenerates tests/fixtures/reference-0.7.2/ from the real authsome 0.7.2 daemon:
# once on SQLite (+ disk vault) and once on Postgres (+ Redis vault), it registers an agent
# with the real CLI, signs up and confirms the claim as a browser would, imports an OpenAI
# key from the environment, sets a global connection, registers a custom provider and signs
# up a second account; then it dumps the database (and the Redis vault keys) and writes what
# the reference itself reported (whoami) to expected-*.json.
#
# Needs: the reference venv (scripts/install-reference.sh), sqlite3, pg_dump, psql, redis-cli,
# Postgres and Redis as in .ci/run. Usage: scripts/reference-fixtures.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/tests/fixtures/reference-0.7.2"
venv=${AUTHSOME_REFERENCE_VENV:-$root/.venv-reference}
pg=${AUTHSOME_TEST_DATABASE_URL:-postgres://root@127.0.0.1:5432/test}
redis_db=14
"$root/scripts/install-reference.sh" "$venv" >/dev/null
ref="$venv/bin/authsome"
work=$(mktemp -d)
daemon_pid=
cleanup() { [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$out"

master_key=fixture-master-key
api_key=sk-fixture0123456789abcdefghijklmnopqrstuv

run_flow() { # name port [extra env...]
  local name=$1 port=$2; shift 2
  local base=http://127.0.0.1:$port home=$work/$name
  mkdir -p "$home"
  env "$@" AUTHSOME_HOME="$home/server-home" AUTHSOME_BASE_URL=$base AUTHSOME_MASTER_KEY=$master_key \
    "$ref" daemon serve --host 127.0.0.1 --port "$port" >"$home/daemon.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.2; done
  export AUTHSOME_HOME="$home/cli-home" AUTHSOME_BASE_URL=$base
  OPENAI_API_KEY=$api_key "$ref" onboard --base-url "$base" >"$home/onboard.out" 2>&1 &
  local onboard=$!
  local token=
  for _ in $(seq 100); do
    token=$(grep -o 'claim?token=[A-Za-z0-9_-]*' "$home/onboard.out" | tail -1 | cut -d= -f2 || true)
    [ -n "$token" ] && break; sleep 0.2
  done
  [ -n "$token" ] || { cat "$home/onboard.out"; echo "no claim URL from onboard" >&2; exit 1; }
  curl -sf -c "$home/jar" -o /dev/null -X POST --data-urlencode email=Fixture@Example.com \
    --data-urlencode password=correct-horse-battery --data-urlencode "next=/claim?token=$token" "$base/api/auth/register"
  curl -sf -b "$home/jar" -o /dev/null -X POST "$base/api/claim/$token/confirm"
  wait "$onboard"
  "$ref" whoami >"$home/whoami.json"
  "$ref" connections set-global openai default >/dev/null
  printf '%s' '{"schema_version":1,"name":"acme-fixture","display_name":"Acme Fixture","auth_type":"api_key","flow":"api_key","api_key":{"header_name":"X-Api-Key","header_prefix":null,"env_var":"ACME_FIXTURE_KEY"},"api_url":["api.acme.example"],"docs_url":"https://docs.acme.example"}' >"$home/custom.json"
  "$ref" provider register "$home/custom.json" --yes >/dev/null
  curl -sf -o /dev/null -X POST --data-urlencode email=second@example.com \
    --data-urlencode password=another-long-password --data-urlencode next=/ "$base/api/auth/register"
  "$ref" log >"$home/log.json"
  kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=
  python3 - "$home" "$out/expected-$name.json" "$api_key" "$master_key" <<'PY'
import json, sys
home, target, api_key, master_key = sys.argv[1:]
who = json.load(open(f"{home}/whoami.json"))
log = json.load(open(f"{home}/log.json"))
expected = {
    "agent": who["agent"], "did": who["did"], "principal_id": who["principal_id"], "vault_id": who["vault_id"],
    "admin_email": "fixture@example.com", "admin_password": "correct-horse-battery",
    "second_email": "second@example.com", "custom_provider": "acme-fixture", "global_provider": "openai",
    "openai_api_key": api_key, "master_key": master_key,
    "audit_event_ids_newest_first": [e["event_id"] for e in log["entries"]],
}
json.dump(expected, open(target, "w"), indent=2, sort_keys=True)
open(target, "a").write("\n")
PY
  unset AUTHSOME_HOME AUTHSOME_BASE_URL
}

# SQLite + disk vault
run_flow sqlite 18100
sqlite3 "$work/sqlite/server-home/server/authsome.db" .dump >"$out/sqlite.sql"

# Postgres + Redis
db=authsome_reference_fixture
admin_url=${pg%/*}/postgres
psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db" -qc "CREATE DATABASE $db"
redis-cli -n $redis_db FLUSHDB >/dev/null
run_flow postgres 18101 AUTHSOME_DATABASE_URL="${pg%/*}/$db" AUTHSOME_REDIS_URL=redis://127.0.0.1:6379/$redis_db
# Data only in the public schema, with names unqualified so that a test can load it into a
# schema of its own.
pg_dump --no-owner --no-privileges --inserts --schema=public "${pg%/*}/$db" \
  | grep -v "set_config('search_path'\|^\\\\" \
  | sed -E 's/\bpublic\.([a-z_]+)/\1/g' \
  | grep -v '^CREATE SCHEMA\|^COMMENT ON SCHEMA' >"$out/postgres.sql"
python3 - "$redis_db" "$out/redis-vault.json" <<'PY'
import json, subprocess, sys
db, target = sys.argv[1:]
def cli(*args):
    return subprocess.run(["redis-cli", "-n", db, "--no-raw", *args], check=True, capture_output=True, text=True).stdout
keys = subprocess.run(["redis-cli", "-n", db, "--scan", "--pattern", "*::*"], check=True, capture_output=True, text=True).stdout.split()
dump = {k: subprocess.run(["redis-cli", "-n", db, "GET", k], check=True, capture_output=True, text=True).stdout.rstrip("\n") for k in sorted(keys)}
json.dump(dump, open(target, "w"), indent=2, sort_keys=True)
open(target, "a").write("\n")
PY
psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db"
redis-cli -n $redis_db FLUSHDB >/dev/null
echo "fixtures written to $out"
