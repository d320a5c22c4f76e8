"""Side-by-side load test: authsome 0.7.2 (the reference daemon) and authsome-rs, one after the
other, on the same machine, the same Postgres server (separate databases), the same Redis
(separate database numbers), with the same load generator settings.

For each implementation and backend set: start the daemon fresh (timing start to a healthy
answer), create an identity, claim it, store an API-key connection, then drive each scenario
with wrk, every request carrying its own pre-signed proof-of-possession token (signed before
the run by `pop_tokens`, so signing costs nothing in the measured loop). Reports requests/s,
latency percentiles, errors, server RSS under load and server CPU seconds per 1000 requests.

Run through scripts/bench (which builds what this needs); see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "blackbox"))

from agent import Agent  # noqa: E402
from harness import Browser, free_port  # noqa: E402

API_KEY = "sk-proj-benchmark" + "0" * 24
RESOLVE_BODY = json.dumps({"connection": None, "provider": "openai"}, separators=(",", ":"), sort_keys=True)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# An agent starting a Linear login (PKCE) whose OAuth client an admin configured: the session
# is created and stored, and the authorization URL built; no request leaves the machine.
OAUTH_START_BODY = json.dumps(
    {"base_url": None, "connection": "default", "flow": None, "force": True, "provider": "linear", "scopes": None},
    separators=(",", ":"), sort_keys=True,
)


@dataclass
class Scenario:
    name: str
    method: str
    path: str
    body: str = ""
    signed: bool = True


SCENARIOS = {
    "resolve": Scenario("POST /api/credentials/resolve", "POST", "/api/credentials/resolve", RESOLVE_BODY),
    "connections": Scenario("GET /api/connections", "GET", "/api/connections"),
    "health": Scenario("GET /health", "GET", "/health", signed=False),
    "oauth_start": Scenario("POST /api/auth/sessions (Linear)", "POST", "/api/auth/sessions", OAUTH_START_BODY),
    # The resolve again, the load split between two replicas of one deployment (same database,
    # Redis and master key): authsome-rs only, since the reference keeps its state in-process.
    "resolve_two_replicas": Scenario("POST /api/credentials/resolve, 2 replicas", "POST", "/api/credentials/resolve",
                                     RESOLVE_BODY),
}
REPLICATED = {"resolve_two_replicas"}
# Rows the reference has no run of, and the reference row they are compared with.
COMPARED_WITH = {SCENARIOS["resolve_two_replicas"].name: SCENARIOS["resolve"].name}
# The resolve scenario again, paced at half the requests/s its saturated run reached.
STEADY = "resolve at 50 % of capacity"


@dataclass
class Result:
    implementation: str
    backends: str
    scenario: str
    requests: int = 0
    seconds: float = 0.0
    errors: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    p999_ms: float = 0.0
    max_ms: float = 0.0
    rss_mb: float = 0.0
    cpu_s_per_1000: float = 0.0
    detail: dict = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def process_tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, stack = [], [pid]
    while stack:
        current = stack.pop()
        tree.append(current)
        stack.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


# An older authsome-rs binary measured beside the new one (--baseline-binary).
BASELINE = "authsome-rs-baseline"


class Daemon:
    def __init__(self, implementation: str, backends: str, args: argparse.Namespace) -> None:
        self.implementation = implementation
        self.backends = backends
        self.args = args
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(tempfile.mkdtemp(prefix=f"bench-{implementation}-"))
        self.database: str | None = None
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "AUTHSOME_HOME": str(self.workdir / "home"),
            "AUTHSOME_HOST": "127.0.0.1",
            "AUTHSOME_PORT": str(self.port),
            "AUTHSOME_MASTER_KEY": secrets.token_urlsafe(32),
            "AUTHSOME_UI_SESSION_KEY": secrets.token_urlsafe(32),
            "AUTHSOME_KEYRING": "off",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "AUTHSOME_LOG": "warn",
        }
        if backends == "postgres+redis":
            self.database = f"bench_{implementation.replace('-', '_')}_{secrets.token_hex(4)}"
            subprocess.run(["psql", args.database_url, "-q", "-c", f"CREATE DATABASE {self.database}"], check=True)
            parts = urllib.parse.urlsplit(args.database_url)
            redis_db = 1 if implementation == "reference" else 2
            redis_url = f"{args.redis_url.rstrip('/')}/{redis_db}"
            subprocess.run(["redis-cli", "-u", redis_url, "FLUSHDB"], check=True, capture_output=True)
            self.env["AUTHSOME_DATABASE_URL"] = urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{self.database}", parts.query, ""))
            self.env["AUTHSOME_REDIS_URL"] = redis_url
            self.redis_url = redis_url
        if implementation == "reference":
            self.command = [str(Path(args.reference_venv) / "bin" / "authsome"), "daemon", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        else:
            binary = args.baseline_binary if implementation == BASELINE else args.binary
            self.command = [binary, "serve"]
            # One identity drives the whole load (about 10 000 signed requests a second, more
            # than the default per-identity quota of token ids allows): lift the quota so that
            # the bench measures the work, not the flood protection.
            self.env["AUTHSOME_POP_IDS_PER_IDENTITY"] = "1000000000"
        self.process: subprocess.Popen | None = None
        self.startup_seconds = 0.0

    def start(self) -> "Daemon":
        log = open(self.workdir / "server.log", "wb")
        started = time.monotonic()
        self.process = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.implementation} exited:\n{(self.workdir / 'server.log').read_text()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > 120:
                raise RuntimeError(f"{self.implementation} never became healthy")
            time.sleep(0.01)
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.database:
            subprocess.run(["psql", self.args.database_url, "-q", "-c", f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)"],
                           check=False, capture_output=True)
            subprocess.run(["redis-cli", "-u", self.redis_url, "FLUSHDB"], check=False, capture_output=True)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def replica(self) -> "Daemon":
        """A second authsome-rs process of the same deployment: the same database, Redis, master
        and session keys, its own port and home. Stopping it leaves the shared state alone."""
        other = Daemon.__new__(Daemon)
        other.__dict__.update(self.__dict__)
        other.port = free_port()
        other.base_url = f"http://127.0.0.1:{other.port}"
        other.workdir = Path(tempfile.mkdtemp(prefix=f"bench-{self.implementation}-replica-"))
        other.database = None
        other.env = self.env | {"AUTHSOME_PORT": str(other.port), "HOME": str(other.workdir),
                                "AUTHSOME_HOME": str(other.workdir / "home")}
        other.process = None
        return other.start()

    def onboard(self) -> Agent:
        """An identity, claimed by a fresh account, with an API-key connection to openai."""
        agent = Agent()
        claim_url = agent.register(self.base_url)
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(claim_url).query)["token"][0]
        email, password = "bench@example.com", "a benchmark passphrase"
        if self.implementation == "reference":
            person = httpx.Client(base_url=self.base_url, timeout=30)
            person.post("/api/auth/register", data={"email": email, "password": password, "next": "/"})
            confirmed = person.post(f"/api/claim/{token}/confirm")
        else:
            person_browser = Browser(self.base_url)
            person_browser.sign_up(email, password)
            confirmed = person_browser.confirm_claim(claim_url)
        if confirmed.status_code != 303 or confirmed.headers.get("location") != "/":
            raise RuntimeError(f"claim failed on {self.implementation}: {confirmed.status_code} {confirmed.text[:300]}")
        stored = agent.store_api_key(self.base_url, "openai", "default", API_KEY)
        if stored.status_code != 200:
            raise RuntimeError(f"storing the key failed on {self.implementation}: {stored.text}")
        check = agent.call(self.base_url, "POST", "/api/credentials/resolve", {"connection": None, "provider": "openai"})
        if check.json().get("headers") != {"Authorization": f"Bearer {API_KEY}"}:
            raise RuntimeError(f"resolve does not work on {self.implementation}: {check.text}")
        # The first account is the admin: it configures Linear's OAuth client for the login scenario.
        configured = agent.call(self.base_url, "PUT", "/api/providers/linear/configuration",
                                {"client_id": "benchmark-client", "client_secret": "benchmark-client-secret", "scopes": ["read"]})
        started = agent.call(self.base_url, "POST", "/api/auth/sessions", json.loads(OAUTH_START_BODY))
        if configured.status_code != 200 or not str(started.json().get("next_action", {}).get("url", "")).startswith(
            "https://linear.app/oauth/authorize?"
        ):
            raise RuntimeError(f"an OAuth login does not start on {self.implementation}: {configured.text} {started.text}")
        return agent


def sign_tokens(args: argparse.Namespace, agent: Agent, scenario: Scenario, count: int, path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    seed = agent.key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()).hex()
    with open(path, "wb") as out:
        subprocess.run([args.pop_tokens, seed, agent.handle, scenario.method, scenario.path, scenario.body, str(count), "120"],
                       stdout=out, check=True)


def backend_pids() -> dict[str, list[int]]:
    """The Postgres and Redis server processes on this machine, by name."""
    found: dict[str, list[int]] = {"postgres": [], "redis": []}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if name == "postgres":
            found["postgres"].append(int(entry.name))
        elif name == "redis-server":
            found["redis"].append(int(entry.name))
    return found


def backend_cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def drive(args: argparse.Namespace, daemons: list[Daemon], agent: Agent, scenario: Scenario, seconds: int,
          expected_rps: float, rate: float | None = None) -> Result:
    """One run: a wrk process per daemon, all at once, the connections, threads and `rate`
    (requests/s in all, else as fast as answers come back) split evenly between them; returns
    what they and the /proc entries of the servers, Postgres and Redis say. With more than one
    daemon (replicas), requests add up, CPU is the servers' together, RSS the largest one's,
    and each percentile is the worse of the wrk processes' (they cannot be merged exactly)."""
    share = len(daemons)
    threads = max(args.threads // share, 1)
    wrks, token_files = [], []
    for daemon in daemons:
        env = {**os.environ, "BENCH_METHOD": scenario.method, "BENCH_PATH": scenario.path, "BENCH_BODY": scenario.body,
               "BENCH_THREADS": str(threads), "BENCH_TOKENS": "", "BENCH_RATE": str(rate / share if rate else "")}
        if scenario.signed:
            tokens = daemon.workdir / "tokens.txt"
            sign_tokens(args, agent, scenario, int(math.ceil(seconds * expected_rps * 1.5 / share)) + 2000, tokens)
            env["BENCH_TOKENS"] = str(tokens)
            token_files.append(tokens)
        # wrk formats every request before its clock starts; start sampling when the load does.
        wrks.append(subprocess.Popen(
            ["wrk", f"-t{threads}", f"-c{max(args.connections // share, threads)}", f"-d{int(seconds)}s", "--timeout", "10s",
             "-s", str(HERE / "signed.lua"), daemon.base_url],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    for wrk, daemon in zip(wrks, daemons):
        while wrk.poll() is None and established_connections(daemon.port) == 0:
            time.sleep(0.005)
    pids = [daemon.process.pid for daemon in daemons]
    samples: list[float] = []
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            samples.append(max(rss_mb(pid) for pid in pids))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    backends = backend_pids()

    def cpu_now() -> tuple[float, float, float]:
        return (sum(cpu_seconds(pid) for pid in pids), backend_cpu_seconds(backends["postgres"]),
                backend_cpu_seconds(backends["redis"]))

    cpu_before = cpu_now()
    wall_before = time.monotonic()
    first = daemons[0]
    print(f"measuring {scenario.name} on {first.implementation} (pids {pids}) for {seconds} s", file=sys.stderr, flush=True)
    sampler.start()
    profiler = None
    if args.perf and seconds == args.duration:
        # Profile the server's middle of the run: perf's own cost is not in the table's numbers
        # only if --perf is off, so profile in a separate run from the one you report.
        name = f"{first.implementation}-{first.backends}-{scenario.path.strip('/').replace('/', '-') or 'root'}.perf.data"
        profiler = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "--call-graph", "dwarf,16384",
                                     "-p", str(pids[0]), "-o", str(args.perf / name), "--", "sleep", str(max(seconds - 2, 1))])
    outputs = [wrk.communicate() for wrk in wrks]
    if profiler:
        profiler.wait()
    sampling.set()
    sampler.join()
    cpu_after = cpu_now()
    wall = time.monotonic() - wall_before
    for wrk, (_, stderr) in zip(wrks, outputs):
        if wrk.returncode != 0:
            raise RuntimeError(f"wrk failed: {stderr}")
    for tokens in token_files:
        tokens.unlink()
    summaries = [json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1]) for stdout, _ in outputs]
    summary = {key: (max if key.endswith("_us") else sum)(s[key] for s in summaries) for key in summaries[0]}
    requests = summary["requests"]
    errors = sum(summary[key] for key in ("errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout"))
    per_request_us = lambda before, after: (after - before) / requests * 1e6 if requests else 0.0  # noqa: E731
    return Result(
        implementation=first.implementation, backends=first.backends, scenario=scenario.name,
        requests=requests, seconds=summary["duration_us"] / 1e6, errors=errors,
        p50_ms=summary["p50_us"] / 1000, p99_ms=summary["p99_us"] / 1000, p999_ms=summary["p999_us"] / 1000,
        max_ms=summary["max_us"] / 1000,
        rss_mb=max(samples) if samples else max(rss_mb(pid) for pid in pids),
        cpu_s_per_1000=(cpu_after[0] - cpu_before[0]) / requests * 1000 if requests else 0.0,
        detail=summary | {
            "replicas": share,
            "requests_per_replica": [s["requests"] for s in summaries],
            "wall_seconds": wall,
            "server_cpu_us_per_request": per_request_us(cpu_before[0], cpu_after[0]),
            "postgres_cpu_us_per_request": per_request_us(cpu_before[1], cpu_after[1]),
            "redis_cpu_us_per_request": per_request_us(cpu_before[2], cpu_after[2]),
        },
    )


def established_connections(port: int) -> int:
    """Established TCP connections to `port` on this machine (from /proc/net/tcp)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, help="authsome-rs release binary")
    parser.add_argument("--pop-tokens", required=True, help="the pop_tokens example binary")
    parser.add_argument("--reference-venv", required=True)
    parser.add_argument("--database-url", required=True, help="a Postgres URL whose server may get new databases")
    parser.add_argument("--redis-url", required=True, help="redis://host:port (database numbers 1 and 2 are flushed)")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--baseline-binary",
                        help="an older authsome-rs release binary, measured beside --binary in the same run "
                             f"(as {BASELINE!r}) to show a change did not cost throughput")
    parser.add_argument("--only", choices=["reference", BASELINE, "authsome-rs"], action="append",
                        help="run only this implementation (repeatable)")
    parser.add_argument("--backends", choices=["postgres+redis", "sqlite+disk"], help="run one backend set")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS) + ["oauth"],
                        help="run one scenario (oauth: only the OAuth rows of bench/oauth_tokens.py)")
    parser.add_argument("--no-oauth", action="store_true",
                        help="leave out the OAuth rows (bench/oauth_tokens.py: a fresh token against an API key, "
                             "and 100 concurrent resolves of an expired token through two replicas)")
    parser.add_argument("--crowds", type=int, default=5, help="how many crowds of 100 expired-token resolves")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-steady", action="store_true", help="skip the steady-rate resolve runs")
    parser.add_argument("--chart", type=Path, help="also draw the table as an SVG chart here")
    parser.add_argument("--perf", type=Path, help="record a perf profile of each measured run into this folder")
    parser.add_argument("--rounds", type=int, default=3,
                        help="repeat the whole plan this many times (fresh daemons each round, implementations "
                             "alternating) and report the round with the median requests/s of each row")
    args = parser.parse_args()
    if args.perf:
        args.perf.mkdir(parents=True, exist_ok=True)

    # Upper bounds of the warm-up's request rate, for how many tokens to sign; the measured
    # run signs for the rate the warm-up reached (with margin; tokens left over are fine).
    caps = {"reference": 3_000, BASELINE: 60_000, "authsome-rs": 60_000}
    implementations = ["reference"] + ([BASELINE] if args.baseline_binary else []) + ["authsome-rs"]
    # Listing connections SCANs the Redis keyspace, which the resolve runs fill with replay ids
    # (one per request, kept for the token's lifetime): list first, so that both daemons list
    # the same small keyspace rather than one left behind by their own resolve throughput.
    plan = [("postgres+redis", ["connections", "resolve", "resolve_two_replicas", "health", "oauth_start"]), ("sqlite+disk", ["resolve", "oauth_start"])]
    results: list[Result] = []
    startups: dict[tuple[str, str], list[float]] = {}
    for round_number in range(1, max(args.rounds, 1) + 1):
        print(f"round {round_number} of {max(args.rounds, 1)}", file=sys.stderr, flush=True)
        for implementation in implementations:
            if args.only and implementation not in args.only:
                continue
            for backends, scenarios in plan:
                if args.backends and args.backends != backends:
                    continue
                scenarios = [name for name in scenarios if not args.scenario or name == args.scenario]
                if not scenarios:
                    continue
                daemon = Daemon(implementation, backends, args).start()
                startups.setdefault((implementation, backends), []).append(daemon.startup_seconds)
                try:
                    agent = daemon.onboard()
                    for name in scenarios:
                        scenario = SCENARIOS[name]
                        if name in REPLICATED and implementation == "reference":
                            continue
                        serving = [daemon, daemon.replica()] if name in REPLICATED else [daemon]
                        try:
                            warmup = drive(args, serving, agent, scenario, args.warmup, caps[implementation])
                            # A 2 s warm-up can run at half the speed of a warm daemon: sign for twice its rate.
                            result = drive(args, serving, agent, scenario, args.duration, max(2 * warmup.rps, 1000))
                        finally:
                            for replica in serving[1:]:
                                replica.stop()
                        results.append(result)
                        print(f"{implementation:12} {backends:15} {scenario.name:32} {result.rps:9.0f} req/s  p50 {result.p50_ms:7.2f} ms"
                              f"  p99 {result.p99_ms:7.2f} ms  max {result.max_ms:8.2f} ms  errors {result.errors}"
                              f"  rss {result.rss_mb:6.1f} MB  cpu {result.cpu_s_per_1000:6.3f} s/1000"
                              + (f"  per replica {result.detail['requests_per_replica']}" if len(serving) > 1 else ""),
                              flush=True)
                        if name == "resolve" and not args.no_steady:
                            # What agents feel at an ordinary load: half of this run's capacity.
                            steady = drive(args, [daemon], agent, scenario, args.duration, result.rps / 2,
                                           rate=result.rps / 2)
                            steady.scenario = STEADY
                            steady.detail["target_rps"] = result.rps / 2
                            results.append(steady)
                            print(f"{implementation:12} {backends:15} {STEADY:32} {steady.rps:9.0f} req/s  p50 {steady.p50_ms:7.2f} ms"
                                  f"  p99 {steady.p99_ms:7.2f} ms  p99.9 {steady.p999_ms:7.2f} ms  errors {steady.errors}"
                                  f"  late sends {steady.detail.get('late_sends', 0)}", flush=True)
                finally:
                    daemon.stop()

    oauth = None
    if not args.no_oauth and args.scenario in (None, "oauth") and (not args.only or "authsome-rs" in args.only):
        import oauth_tokens  # noqa: PLC0415 (bench/oauth_tokens.py, beside this file; it imports this module)
        args.no_crowd = args.backends == "sqlite+disk"
        oauth = oauth_tokens.run(args)

    # One row per (implementation, backends, scenario): the round with the median requests/s
    # (so that its latencies, RSS and CPU belong to the same run), with every round's rate.
    rows: dict[tuple[str, str, str], list[Result]] = {}
    for result in results:
        rows.setdefault((result.implementation, result.backends, result.scenario), []).append(result)
    # (A paced run's rate is fixed: its median round is the one with the median p99.)
    medians = {key: sorted(runs, key=lambda r: r.p99_ms if key[2] == STEADY else r.rps)[(len(runs) - 1) // 2]
               for key, runs in rows.items()}
    if results:
        print()
        print(f"| Backends | Scenario | Implementation | Requests/s (median) | Each round | p50 ms | p99 ms | max ms | Errors (all rounds) | RSS MB | CPU s / 1000 req | Ours / reference | Ours / baseline |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for key, result in medians.items():
            implementation, backends, scenario = key
            if scenario == STEADY:
                continue
            reference = medians.get(("reference", backends, COMPARED_WITH.get(scenario, scenario)))
            ratio = f"{result.rps / reference.rps:.1f}x" if reference and reference.rps and implementation != "reference" else ""
            baseline = medians.get((BASELINE, backends, scenario))
            versus_baseline = f"{result.rps / baseline.rps:.2f}x" if baseline and baseline.rps and implementation == "authsome-rs" else ""
            each = " / ".join(f"{r.rps:,.0f}" for r in rows[key])
            errors = sum(r.errors for r in rows[key])
            print(f"| {backends} | {scenario} | {implementation} | {result.rps:,.0f} | {each} | {result.p50_ms:.2f} | "
                  f"{result.p99_ms:.2f} | {result.max_ms:.1f} | {errors} | {result.rss_mb:.1f} | {result.cpu_s_per_1000:.3f} | {ratio} | {versus_baseline} |")
        print()
        print(f"| Backends | Implementation | {STEADY}: requests/s (target) | p50 ms | p99 ms | p99.9 ms | max ms | Late sends | Errors |")
        print("|---|---|---|---|---|---|---|---|---|")
        for (implementation, backends, scenario), result in medians.items():
            if scenario != STEADY:
                continue
            print(f"| {backends} | {implementation} | {result.rps:,.0f} ({result.detail.get('target_rps', 0):,.0f}) | "
                  f"{result.p50_ms:.2f} | {result.p99_ms:.2f} | {result.p999_ms:.2f} | {result.max_ms:.1f} | "
                  f"{result.detail.get('late_sends', 0)} | {sum(r.errors for r in rows[(implementation, backends, scenario)])} |")
        if args.chart:
            import chart  # noqa: PLC0415 (bench/chart.py, beside this file)
            chart.write(args.chart, [r.__dict__ | {"rps": r.rps} for r in results])
            print(f"\nchart written to {args.chart}")
        print()
        print("| Backends | Implementation | Start to healthy, median (s) | Each round |")
        print("|---|---|---|---|")
        for (implementation, backends), seconds in startups.items():
            median = sorted(seconds)[(len(seconds) - 1) // 2]
            print(f"| {backends} | {implementation} | {median:.2f} | {' / '.join(f'{s:.2f}' for s in seconds)} |")
    if oauth:
        print()
        oauth_tokens.print_tables(oauth)
    if args.json:
        args.json.write_text(json.dumps({"results": [r.__dict__ | {"rps": r.rps} for r in results],
                                         "startup_seconds": {f"{i} {b}": s for (i, b), s in startups.items()},
                                         "oauth": oauth}, indent=2))


if __name__ == "__main__":
    main()
