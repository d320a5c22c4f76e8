"""OAuth token benchmarks of authsome-rs (issue 15), against the test authorization server
(node-oidc-provider, tests/oauth):

1. Resolving a fresh OAuth token against resolving an API key, same daemon, same run, wrk with
   pre-signed proofs (bench/side_by_side.py's driver), alternating, `--rounds` times; on
   Postgres + Redis and on SQLite + disk.
2. 100 requests resolving one expired connection at the same moment, half through each of two
   replicas on Postgres + Redis: how many refresh grants reached the provider, and the time
   until all 100 had a token; `--crowds` times.

Run through `scripts/bench --oauth`; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "blackbox"))
sys.path.insert(0, str(HERE))

from agent import Agent  # noqa: E402
from harness import AuthorizationServer, Backends, Browser, Server, connect_with_pkce  # noqa: E402
from side_by_side import RESOLVE_BODY, Scenario, drive  # noqa: E402

CALLBACK = "/api/auth/callback/oauth"
OAUTH_RESOLVE_BODY = json.dumps({"connection": None, "provider": "bench-oauth"}, separators=(",", ":"), sort_keys=True)
CUSTOM_KEY_RESOLVE_BODY = json.dumps({"connection": None, "provider": "bench-key"}, separators=(",", ":"), sort_keys=True)
# The OAuth provider is a custom one (it points at the local authorization server), and a
# custom definition costs a database read per resolve that a bundled one does not: the API key
# of a custom provider is the like-for-like comparison.
CUSTOM_KEY_SCENARIO = Scenario("resolve, API key (custom)", "POST", "/api/credentials/resolve", CUSTOM_KEY_RESOLVE_BODY)
SCENARIOS = [
    Scenario("resolve, API key (openai)", "POST", "/api/credentials/resolve", RESOLVE_BODY),
    CUSTOM_KEY_SCENARIO,
    Scenario("resolve, fresh OAuth (custom)", "POST", "/api/credentials/resolve", OAUTH_RESOLVE_BODY),
]
CUSTOM_KEY_PROVIDER = {
    "name": "bench-key", "display_name": "Bench key", "auth_type": "api_key", "flow": "api_key",
    "api_key": {"header_name": "Authorization", "header_prefix": "Bearer"}, "api_url": "api.bench-key.example",
}


class Measured:
    """A harness server as side_by_side's driver reads it."""

    def __init__(self, server: Server, backends: str) -> None:
        self.server = server
        self.process = server.process
        self.workdir = server.workdir
        self.port = server.port
        self.base_url = server.base_url
        self.implementation = "authsome-rs"
        self.backends = backends


def owner_with_agent(public_url: str, api_url: str) -> tuple[Agent, str]:
    owner = Browser(public_url)
    owner.sign_up("oauth-bench@example.com", "an OAuth benchmark passphrase")
    agent = Agent()
    owner.confirm_claim(agent.register(api_url))
    return agent, owner.client.cookies.get("authsome_ui_session")


def fresh_token_runs(args: argparse.Namespace) -> list[dict]:
    rows = []
    for backends_name in ["postgres+redis", "sqlite+disk"]:
        if args.backends and args.backends != backends_name:
            continue
        results: dict[str, list] = {scenario.name: [] for scenario in SCENARIOS}
        # A fresh daemon each round, as bench/side_by_side.py does: the local default's
        # in-memory replay cache holds every proof id for its lifetime (up to 150 s), and
        # rounds of 15 000 requests/s back to back would fill its 1 000 000 entries.
        for round_number in range(args.rounds):
            backends = Backends.postgres_redis() if backends_name == "postgres+redis" else Backends.sqlite_disk()
            server = Server(backends, {"AUTHSOME_POP_IDS_PER_IDENTITY": "1000000000", "AUTHSOME_LOG": "warn"})
            server.env["AUTHSOME_BASE_URL"] = server.base_url
            server.start()
            authorization_server = AuthorizationServer([server.base_url + CALLBACK])
            try:
                agent, cookie = owner_with_agent(server.base_url, server.base_url)
                connect_with_pkce(agent, server.base_url, server.base_url, authorization_server, cookie, "bench-oauth")
                agent.store_api_key(server.base_url, "openai", "default", "sk-proj-benchmark" + "0" * 24).raise_for_status()
                agent.call(server.base_url, "POST", "/api/providers", {"definition": CUSTOM_KEY_PROVIDER}).raise_for_status()
                agent.store_api_key(server.base_url, "bench-key", "default", "bench-" + "0" * 32).raise_for_status()
                measured = Measured(server, backends_name)
                # Each run leaves its proof ids in the replay cache for their lifetime, so a later
                # run works against a fuller keyspace: each round starts with another scenario.
                shift = round_number % len(SCENARIOS)
                for scenario in SCENARIOS[shift:] + SCENARIOS[:shift]:
                    warmup = drive(args, [measured], agent, scenario, 2, 60_000)
                    result = drive(args, [measured], agent, scenario, args.duration, max(warmup.rps, 1000))
                    results[scenario.name].append(result)
                    print(f"{backends_name:15} {scenario.name:30} {result.rps:9.0f} req/s  p99 {result.p99_ms:6.2f} ms"
                          f"  errors {result.errors}  cpu {result.cpu_s_per_1000:6.3f} s/1000", file=sys.stderr, flush=True)
            finally:
                authorization_server.stop()
                server.stop()
        for name, runs in results.items():
            median = sorted(runs, key=lambda r: r.rps)[len(runs) // 2]
            rows.append({"backends": backends_name, "scenario": name, "rounds": [round(r.rps) for r in runs],
                         "rps": round(median.rps), "p50_ms": median.p50_ms, "p99_ms": median.p99_ms,
                         "errors": sum(r.errors for r in runs), "cpu_s_per_1000": median.cpu_s_per_1000})
    return rows


def crowd_runs(args: argparse.Namespace) -> dict:
    token_seconds = 2
    backends = Backends.postgres_redis()
    shared = {"AUTHSOME_MASTER_KEY": secrets.token_urlsafe(32), "AUTHSOME_LOG": "warn"}
    replicas = [Server(backends, dict(shared), owns_backends=False) for _ in range(2)]
    for replica in replicas:
        replica.env["AUTHSOME_BASE_URL"] = replicas[1].base_url
        replica.start()
    authorization_server = AuthorizationServer([replicas[1].base_url + CALLBACK], access_token_ttl=token_seconds)
    try:
        agent, cookie = owner_with_agent(replicas[1].base_url, replicas[0].base_url)
        connect_with_pkce(agent, replicas[0].base_url, replicas[1].base_url, authorization_server, cookie, "bench-crowd")
        body = json.dumps({"provider": "bench-crowd"}, separators=(",", ":"), sort_keys=True).encode()
        times, grants = [], []
        for _ in range(args.crowds):
            time.sleep(token_seconds + 0.3)
            before = authorization_server.token_requests("refresh_token")[0]
            requests = [(replicas[n % 2], agent.proof("POST", "/api/credentials/resolve", body), httpx.Client())
                        for n in range(100)]
            barrier = threading.Barrier(len(requests))

            def send(request):
                replica, proof, client = request
                barrier.wait()
                with client:
                    response = agent.send(replica.base_url, "POST", "/api/credentials/resolve", body, proof, client)
                return response.status_code, time.monotonic()

            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=len(requests)) as pool:
                answers = list(pool.map(send, requests))
            if any(status != 200 for status, _ in answers):
                raise RuntimeError(f"a resolve failed: {[status for status, _ in answers]}")
            times.append(max(done for _, done in answers) - started)
            grants.append(authorization_server.token_requests("refresh_token")[0] - before)
            print(f"crowd: {grants[-1]} grant(s), all 100 served in {times[-1] * 1000:.0f} ms", file=sys.stderr, flush=True)
        return {"crowds": args.crowds, "grants": grants, "ms": [round(t * 1000) for t in times],
                "median_ms": round(statistics.median(times) * 1000), "max_ms": round(max(times) * 1000)}
    finally:
        authorization_server.stop()
        for replica in replicas:
            replica.stop()
        backends.clean()


def run(args: argparse.Namespace) -> dict:
    """Both benchmarks with `args` (bench/side_by_side.py calls this for its OAuth rows)."""
    os.environ.update({"AUTHSOME_RS_BIN": args.binary, "AUTHSOME_TEST_DATABASE_URL": args.database_url,
                       "AUTHSOME_TEST_REDIS_URL": args.redis_url})
    return {"fresh": fresh_token_runs(args), "crowd": None if args.no_crowd else crowd_runs(args)}


def print_tables(report: dict) -> None:
    """The report as the Markdown tables docs/benchmarks.md holds."""
    if report["fresh"]:
        print("| Backends | Resolve of | Requests/s (median) | Each round | p50 ms | p99 ms | Errors | Daemon CPU ms / request | Against the API key (custom) |")
        print("|---|---|---|---|---|---|---|---|---|")
        keys = {row["backends"]: row["rps"] for row in report["fresh"] if row["scenario"] == CUSTOM_KEY_SCENARIO.name}
        for row in report["fresh"]:
            versus = f"{row['rps'] / keys[row['backends']] - 1:+.1%}" if keys.get(row["backends"]) else ""
            print(f"| {row['backends']} | {row['scenario']} | {row['rps']:,} | {' / '.join(f'{r:,}' for r in row['rounds'])} | "
                  f"{row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['errors']} | {row['cpu_s_per_1000']:.3f} | {versus} |")
    crowd = report["crowd"]
    if crowd:
        print()
        print("| 100 concurrent resolves of one expired token, 2 replicas | Refresh grants, each crowd | "
              "All 100 answered, median ms | Each crowd ms | Max ms |")
        print("|---|---|---|---|---|")
        print(f"| Postgres + Redis, {crowd['crowds']} crowds | {' / '.join(map(str, crowd['grants']))} | "
              f"{crowd['median_ms']} | {' / '.join(map(str, crowd['ms']))} | {crowd['max_ms']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--pop-tokens", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--crowds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--backends", choices=["postgres+redis", "sqlite+disk"], help="measure one backend set")
    parser.add_argument("--no-crowd", action="store_true", help="leave out the 100-concurrent refresh")
    args = parser.parse_args()
    args.perf = None
    report = run(args)
    print(json.dumps(report, indent=2))
    print_tables(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
