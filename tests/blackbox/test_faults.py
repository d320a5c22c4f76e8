"""Backends that fail and come back, under a steady PoP-signed resolve load.

Each case runs authsome-rs on Postgres + Redis of the test's own (a private redis-server on
its own port, writing every command to its append-only file; a private Postgres cluster made
with initdb), never the shared ones, and stops one of them while agents keep resolving:

- Redis stopped: every request answers 503 (none is served without its replay check), `/ready`
  answers 503 with its `redis` check failed; Redis back: the server recovers by itself, no restart.
- Postgres stopped for 10 s (a fast shutdown, as a restart or failover ends every session),
  and crashed (an immediate stop) for 2 s:
  503 while it is gone (`/ready`: its `store` check failed), recovery by itself, and no answer after recovery comes from a dead
  pooled connection (no 500s).

- Redis full (`maxmemory` reached with `noeviction`): writes refused as 503, a connection
  being written is not there afterwards, every stored key intact once there is room again.

On the local default (SQLite + the disk vault): a full disk (a 16 MiB tmpfs as the home)
refuses a write with a 503 naming the vault and keeps every entry, and a SIGKILL during
concurrent writes loses no acknowledged write.

Every 200 must carry the agent's own key. Each case prints its figures: answers by status
before, during and after the outage, and the seconds from the backend's return to the first
good answer and to the last bad one. Needs redis-server and Debian's postgresql binaries.
"""

from __future__ import annotations

import collections
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

import httpx

from agent import Agent
from harness import Backends, Browser, PrivatePostgres, PrivateRedis, Server

PASSWORD = "a fault-tolerant passphrase"
AGENTS = 3
# The documented bound (docs/security.md, "How we test it"): the first good answer within this
# many seconds of the backend answering again, and none bad after it.
RECOVERY_BOUND_SECONDS = 5.0
# With Redis up, a replica answers from the owners it remembers (services::ownership_cache,
# MAX_AGE) while the database is gone: nobody can change ownership meanwhile.
REMEMBERED_SECONDS = 2.0


def key(n: int) -> str:
    return f"sk-proj-faults{n:0>22}"


class Load:
    """`AGENTS` agents, each of a different person, resolving their own stored key in a loop,
    each answer recorded as (monotonic time, status); a 200 carrying anything but the agent's
    key is a wrong answer."""

    def __init__(self, base_url: str, agents: list[Agent]) -> None:
        self.base_url = base_url
        self.agents = agents
        self.answers: list[tuple[float, int]] = []
        self.wrong: list[str] = []
        self._running = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _run(self, n: int, agent: Agent) -> None:
        with httpx.Client(timeout=10) as client:
            while self._running.is_set():
                try:
                    response = agent.call(self.base_url, "POST", "/api/credentials/resolve",
                                          {"provider": "openai"}, client=client)
                    status = response.status_code
                    if status == 200 and key(n) not in response.text:
                        self.wrong.append(response.text[:200])
                except httpx.HTTPError:
                    status = 0
                with self._lock:
                    self.answers.append((time.monotonic(), status))
                if status != 200:
                    time.sleep(0.02)

    def start(self) -> "Load":
        self._running.set()
        self._threads = [threading.Thread(target=self._run, args=(n, agent), daemon=True)
                         for n, agent in enumerate(self.agents)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._running.clear()
        for thread in self._threads:
            thread.join(timeout=30)

    def between(self, start: float, end: float) -> collections.Counter:
        with self._lock:
            return collections.Counter(status for at, status in self.answers if start <= at < end)

    def recovery(self, back_at: float) -> tuple[float | None, float | None]:
        """Seconds from `back_at` to the first 200 and to the last answer that was not a 200."""
        with self._lock:
            after = [(at, status) for at, status in self.answers if at >= back_at]
        first_good = next((at - back_at for at, status in after if status == 200), None)
        last_bad = max((at - back_at for at, status in after if status != 200), default=None)
        return first_good, last_bad


def claimed_agent(base_url: str, email: str) -> Agent:
    """An agent claimed by a new person of its own (so with a vault of its own)."""
    owner = Browser(base_url)
    signed_up = owner.sign_up(email, PASSWORD)
    if signed_up.status_code != 303:
        raise AssertionError(f"sign-up of {email} answered {signed_up.status_code}: {signed_up.text[:500]}")
    agent = Agent()
    confirmed = owner.confirm_claim(agent.register(base_url))
    if confirmed.status_code != 303:
        raise AssertionError(f"the claim answered {confirmed.status_code}: {confirmed.text[:500]}")
    return agent


def agents_with_keys(base_url: str, tag: str, count: int = AGENTS) -> list[Agent]:
    """`count` claimed agents, agent n holding `key(n)`: each resolves a key no other holds."""
    agents = []
    for n in range(count):
        agent = claimed_agent(base_url, f"{tag}-{n}@example.com")
        stored = agent.store_api_key(base_url, "openai", "default", key(n))
        if stored.status_code != 200:
            raise AssertionError(f"storing key {n} answered {stored.status_code}: {stored.text[:500]}")
        agents.append(agent)
    return agents


def figures(counter: collections.Counter) -> str:
    return ", ".join(f"{status or 'no answer'}: {count}" for status, count in sorted(counter.items())) or "none"


class FaultsUnderLoad(unittest.TestCase):
    def setUp(self) -> None:
        self.redis = PrivateRedis().start()
        self.postgres = PrivatePostgres().start()
        self.backends = Backends.postgres_redis(self.redis.url, self.postgres.url)
        self.server = Server(self.backends, {"AUTHSOME_MASTER_KEY": secrets.token_urlsafe(32)}).start()
        self.agents = agents_with_keys(self.server.base_url, "faults")

    def tearDown(self) -> None:
        self.server.stop()
        self.redis.stop()
        self.postgres.remove()

    def ready(self) -> httpx.Response:
        return httpx.get(f"{self.server.base_url}/ready", timeout=10)

    def outage(self, name: str, take_down, bring_back, down_seconds: float) -> dict:
        """Runs the load, takes the backend down for `down_seconds`, brings it back, and
        returns what the agents and `/ready` saw."""
        load = Load(self.server.base_url, self.agents).start()
        try:
            time.sleep(2)
            before_end = time.monotonic()
            take_down()
            down_at = time.monotonic()
            # Requests already past their backend call may still finish well: allow them 0.5 s.
            time.sleep(down_seconds)
            ready_while_down = self.ready()
            up_started = time.monotonic()
            bring_back()
            back_at = time.monotonic()
            time.sleep(RECOVERY_BOUND_SECONDS + 3)
            end = time.monotonic()
        finally:
            load.stop()
        with load._lock:
            good_while_down = [at - down_at for at, status in load.answers if down_at + 0.5 <= at < up_started and status == 200]
        seen = {
            "good_while_down": good_while_down,
            "before": load.between(0, before_end),
            "during": load.between(down_at + 0.5, up_started),
            "after": load.between(back_at, end),
            "recovery": load.recovery(back_at),
            "ready_while_down": ready_while_down,
            "ready_after": self.ready(),
            "wrong": load.wrong,
        }
        first_good, last_bad = seen["recovery"]
        print(f"\n  {name}: before {figures(seen['before'])}; down {down_seconds:.0f} s: {figures(seen['during'])}; "
              f"after: {figures(seen['after'])}; first good answer {first_good if first_good is None else round(first_good, 2)} s "
              f"and last bad {last_bad if last_bad is None else round(last_bad, 2)} s after it answered again"
              + (f"; while down, {len(seen['good_while_down'])} answered from remembered owners, the last "
                 f"{max(seen['good_while_down']):.2f} s after it went down" if seen["good_while_down"] else ""))
        return seen

    def assert_outage_handled(self, seen: dict, backend: str, check: str, remembered: bool = False) -> None:
        """`check`: the name `/ready` gives the backend (`store` is the registry database).
        `remembered`: owners remembered before the outage may still be served for
        REMEMBERED_SECONDS (the database is gone, so nobody can change them)."""
        self.assertEqual(seen["wrong"], [], "a 200 carried another agent's key")
        self.assertEqual(set(seen["before"]), {200}, seen["before"])
        self.assertGreater(sum(seen["during"].values()), 0, "the load kept asking while it was down")
        allowed = {200, 503} if remembered else {503}
        self.assertLessEqual(set(seen["during"]), allowed, f"only {allowed} while {backend} is down: {seen['during']}\n{self.server.log()[-3000:]}")
        if remembered and seen["good_while_down"]:
            self.assertLess(max(seen["good_while_down"]), REMEMBERED_SECONDS + 0.5, "served from memory past its bound")
        self.assertEqual(seen["ready_while_down"].status_code, 503)
        self.assertEqual(seen["ready_while_down"].json()["checks"][check], "failed", seen["ready_while_down"].text)
        first_good, last_bad = seen["recovery"]
        self.assertIsNotNone(first_good, f"no good answer after {backend} came back\n{self.server.log()[-3000:]}")
        self.assertLess(first_good, RECOVERY_BOUND_SECONDS)
        if last_bad is not None:
            self.assertLess(last_bad, RECOVERY_BOUND_SECONDS, f"bad answers went on after {backend} came back: {seen['after']}")
        self.assertNotIn(500, seen["after"], f"a 500 after {backend} came back (a dead pooled connection?)")
        self.assertEqual(seen["ready_after"].status_code, 200, seen["ready_after"].text)

    def test_redis_stopped_under_load(self) -> None:
        seen = self.outage("Redis stopped", self.redis.kill, self.redis.start, 4)
        self.assert_outage_handled(seen, "redis", "redis")

    def test_postgres_stopped_for_ten_seconds_under_load(self) -> None:
        seen = self.outage("Postgres stopped", lambda: self.postgres.stop("fast"), self.postgres.start, 10)
        self.assert_outage_handled(seen, "postgres", "store", remembered=True)
        self.assertGreater(seen["during"][503], 0, "past the remembered owners' bound, a missing database is a 503")

    def test_postgres_crash_and_restart_under_load(self) -> None:
        seen = self.outage("Postgres crashed (immediate stop) and restarted", lambda: self.postgres.stop("immediate"),
                           self.postgres.start, 2)
        self.assert_outage_handled(seen, "postgres", "store", remembered=True)

    def test_redis_full_refuses_writes_and_keeps_what_it_holds(self) -> None:
        redis_cli = ["redis-cli", "-p", str(self.redis.port)]

        def full() -> None:
            subprocess.run([*redis_cli, "CONFIG", "SET", "maxmemory-policy", "noeviction"], check=True, capture_output=True)
            # Any write now exceeds the limit; reads still work.
            subprocess.run([*redis_cli, "CONFIG", "SET", "maxmemory", "1"], check=True, capture_output=True)

        def room_again() -> None:
            subprocess.run([*redis_cli, "CONFIG", "SET", "maxmemory", "0"], check=True, capture_output=True)

        load = Load(self.server.base_url, self.agents).start()
        try:
            time.sleep(1)
            full()
            full_at = time.monotonic()
            time.sleep(2)
            # A new connection's login cannot even start; nothing of it remains.
            refused_write = self.agents[0].call(self.server.base_url, "POST", "/api/auth/sessions",
                                                {"connection": "second", "flow": "api_key", "force": True,
                                                 "provider": "openai"})
            during = load.between(full_at + 0.5, time.monotonic())
            room_again()
            back_at = time.monotonic()
            time.sleep(3)
        finally:
            load.stop()
        after = load.between(back_at, time.monotonic())
        first_good, last_bad = load.recovery(back_at)
        print(f"\n  Redis full (maxmemory, noeviction): {figures(during)}; a new key's write answered "
              f"{refused_write.status_code}; after room again: {figures(after)}, first good answer {first_good if first_good is None else round(first_good, 2)} s")
        self.assertEqual(load.wrong, [])
        self.assertEqual(set(during), {503}, f"every resolve needs its replay write: {during}")
        self.assertEqual(refused_write.status_code, 503, refused_write.text)
        self.assertIsNotNone(first_good)
        self.assertLess(first_good, RECOVERY_BOUND_SECONDS)
        self.assertNotIn(500, after)
        # Nothing half-written: the refused connection does not exist; every stored key is whole.
        missing = self.agents[0].call(self.server.base_url, "GET", "/api/connections/openai/second")
        self.assertEqual(missing.status_code, 404, missing.text)
        for n, agent in enumerate(self.agents):
            resolved = agent.call(self.server.base_url, "POST", "/api/credentials/resolve", {"provider": "openai"})
            self.assertEqual(resolved.status_code, 200, resolved.text)
            self.assertIn(key(n), resolved.text)


class LocalDefaultFaults(unittest.TestCase):
    """The local default (SQLite + the disk vault, one process): a full disk and a SIGKILL."""

    def test_a_full_disk_refuses_the_write_clearly_and_keeps_every_entry(self) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("this test mounts a small tmpfs as the server's home: run it as root (CI does)")
        mount = Path(tempfile.mkdtemp(prefix="authsome-full-disk-"))
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
        server = Server(Backends.sqlite_disk(), {"AUTHSOME_HOME": str(mount / "home")})
        try:
            server.start()
            agent = claimed_agent(server.base_url, "full-disk@example.com")
            for n in range(3):
                self.assertEqual(agent.store_api_key(server.base_url, "openai", f"kept-{n}", key(n)).status_code, 200)
            # Fill what is left of the disk.
            subprocess.run(["dd", "if=/dev/zero", f"of={mount / 'filler'}", "bs=64k"], capture_output=True)
            refused = agent.store_api_key(server.base_url, "openai", "one-too-many", key(50))
            print(f"\n  disk full: storing a key answered {refused.status_code} {refused.text[:160]}")
            self.assertEqual(refused.status_code, 503, refused.text)
            detail = refused.json()["detail"]
            self.assertIn("disk holding the vault's database is full", detail, "the error says what is wrong")
            self.assertIn("nothing was changed", detail)
            self.assertNotIn(key(50), refused.text)
            self.assertEqual(server.process.poll(), None, "the server is still running")
            for n in range(3):
                read = agent.call(server.base_url, "GET", f"/api/connections/openai/kept-{n}")
                self.assertEqual(read.status_code, 200, read.text)
                self.assertEqual(read.json()["api_key"], key(n), "an existing entry is intact")
            # Space again: the same write succeeds, and the refused one left nothing behind.
            (mount / "filler").unlink()
            missing = agent.call(server.base_url, "GET", "/api/connections/openai/one-too-many")
            self.assertEqual(missing.status_code, 404, missing.text)
            stored = agent.store_api_key(server.base_url, "openai", "one-too-many", key(50))
            self.assertEqual(stored.status_code, 200, stored.text)
            read = agent.call(server.base_url, "GET", "/api/connections/openai/one-too-many")
            self.assertEqual(read.json()["api_key"], key(50))
        finally:
            server.stop()
            subprocess.run(["umount", str(mount)], check=False)
            shutil.rmtree(mount, ignore_errors=True)

    def test_sigkill_during_writes_loses_no_acknowledged_write(self) -> None:
        server = Server(Backends.sqlite_disk()).start()
        try:
            agent = claimed_agent(server.base_url, "sigkill@example.com")
            acknowledged: set[int] = set()
            lock = threading.Lock()
            counter = iter(range(1_000_000))

            def writer() -> None:
                with httpx.Client(timeout=10) as client:
                    while True:
                        with lock:
                            n = next(counter)
                        try:
                            reply = agent.store_api_key(server.base_url, "openai", f"load-{n}", key(n), client)
                        except httpx.HTTPError:
                            return
                        if reply.status_code == 200 and reply.json().get("status") == "completed":
                            with lock:
                                acknowledged.add(n)

            writers = [threading.Thread(target=writer, daemon=True) for _ in range(4)]
            for thread in writers:
                thread.start()
            time.sleep(2.0)
            server.kill()
            for thread in writers:
                thread.join(timeout=30)
            started = time.monotonic()
            server.start()
            restarted_in = time.monotonic() - started
            self.assertGreater(len(acknowledged), 0)
            with httpx.Client(timeout=30) as client:
                for n in sorted(acknowledged):
                    read = agent.call(server.base_url, "GET", f"/api/connections/openai/load-{n}", client=client)
                    self.assertEqual(read.status_code, 200, f"acknowledged write load-{n} is missing: {read.text}")
                    self.assertEqual(read.json()["api_key"], key(n))
            print(f"\n  SIGKILL during writes (SQLite + disk): {len(acknowledged)} acknowledged writes, all readable "
                  f"after a restart (healthy again in {restarted_in:.2f} s)")
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
