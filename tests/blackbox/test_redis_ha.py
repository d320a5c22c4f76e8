"""Redis high availability and transport security: authsome-rs follows a Sentinel-watched Redis
group through a failover, and talks to a TLS Redis signed by a private CA.

The test runs its own group (never the shared Redis): a primary, one replica and three
sentinels on private ports (`down-after-milliseconds` 1000, quorum 2), and authsome-rs on
Postgres with `AUTHSOME_REDIS_URL=redis+sentinel://<the three sentinels>/authsome`. Under a
steady PoP-signed resolve load from three agents, the primary is killed (SIGKILL). The
sentinels promote the replica; the server follows by itself within the documented bound, with
no restart, no 200 carrying the wrong key, and replay protection intact: a proof accepted
before the failover (and replicated, as `WAIT` confirms) is refused after it. Prints the
figures: answers by status before, during and after, and the seconds from the kill to the
first good answer and to the last bad one.

TLS: a Redis that speaks only TLS (`tls-port`, certificate from a CA made by the test) serves
agents through `rediss://` with `AUTHSOME_REDIS_CA_FILE` naming that CA; without it, the server
refuses to start, saying why (the certificate's issuer is unknown).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import httpx

from agent import encode
from harness import Backends, Server, free_port
from test_faults import Load, agents_with_keys, figures, key

SERVICE = "authsome"
# The documented bound (docs/guides/self-hosting.md, "Redis high availability"): from the
# primary's death to the first good answer, with down-after-milliseconds 1000.
FAILOVER_BOUND_SECONDS = 10.0


def redis_cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=10).stdout.strip()


class SentinelGroup:
    """A primary, a replica and three sentinels of the test's own."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="authsome-sentinel-"))
        self.primary_port, self.replica_port = free_port(), free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[int, subprocess.Popen] = {}

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    def _redis(self, port: int, *args: str) -> None:
        data = self.dir / f"redis-{port}"
        data.mkdir()
        self.processes[port] = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(data), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def start(self) -> "SentinelGroup":
        self._redis(self.primary_port)
        self._redis(self.replica_port, "--replicaof", "127.0.0.1", str(self.primary_port))
        for port in self.sentinel_ports:
            config = self.dir / f"sentinel-{port}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.dir}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary_port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 5000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            self.processes[port] = subprocess.Popen(
                ["redis-server", str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Ready when the replica is in sync and every sentinel knows the replica and the others.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            synced = "master_link_status:up" in redis_cli(self.replica_port, "info", "replication")
            views = [redis_cli(port, "sentinel", "master", SERVICE).split("\n") for port in self.sentinel_ports]
            known = all(self._field(view, "num-slaves") == "1" and self._field(view, "num-other-sentinels") == "2"
                        for view in views)
            if synced and known:
                return self
            time.sleep(0.2)
        raise RuntimeError("the Sentinel group did not form")

    @staticmethod
    def _field(view: list[str], name: str) -> str | None:
        for index in range(0, len(view) - 1, 2):
            if view[index] == name:
                return view[index + 1]
        return None

    def primary_named_by_sentinels(self) -> int | None:
        answer = redis_cli(self.sentinel_ports[0], "sentinel", "get-master-addr-by-name", SERVICE).split("\n")
        return int(answer[1]) if len(answer) == 2 and answer[1].isdigit() else None

    def kill(self, port: int) -> None:
        process = self.processes[port]
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def stop(self) -> None:
        for port in list(self.processes):
            self.kill(port)
        shutil.rmtree(self.dir, ignore_errors=True)


class SentinelFailover(unittest.TestCase):
    def setUp(self) -> None:
        self.group = SentinelGroup().start()
        self.addCleanup(self.group.stop)
        self.server = Server(Backends.postgres_redis(self.group.url),
                             {"AUTHSOME_MASTER_KEY": secrets.token_urlsafe(32)}).start()
        self.addCleanup(self.server.stop)
        self.agents = agents_with_keys(self.server.base_url, "sentinel")

    def test_the_primary_dies_under_load_and_the_server_follows_the_new_one(self) -> None:
        # A proof used once before the failover, its replay record replicated to the replica.
        agent = self.agents[0]
        body = encode({"provider": "openai"})
        used_proof = agent.proof("POST", "/api/credentials/resolve", body)
        first = agent.send(self.server.base_url, "POST", "/api/credentials/resolve", body, used_proof)
        self.assertEqual(first.status_code, 200, first.text)
        self.assertEqual(redis_cli(self.group.primary_port, "wait", "1", "2000"), "1", "the replica did not acknowledge")

        load = Load(self.server.base_url, self.agents).start()
        try:
            time.sleep(2)
            before_end = time.monotonic()
            self.group.kill(self.group.primary_port)
            killed_at = time.monotonic()
            deadline = killed_at + 30
            while self.group.primary_named_by_sentinels() != self.group.replica_port and time.monotonic() < deadline:
                time.sleep(0.1)
            promoted_at = time.monotonic()
            time.sleep(FAILOVER_BOUND_SECONDS)
            end = time.monotonic()
        finally:
            load.stop()
        self.assertEqual(self.group.primary_named_by_sentinels(), self.group.replica_port, "the sentinels did not fail over")

        before, after = load.between(0, before_end), load.between(killed_at, end)
        first_good, last_bad = load.recovery(killed_at)
        with load._lock:
            answers = [(at - killed_at, status) for at, status in load.answers if at >= killed_at]
        settled = next((at for at, status in answers if status == 200 and (last_bad is None or at > last_bad)), None)
        print(f"\n  sentinel failover: before {figures(before)}; from the kill on: {figures(after)}; "
              f"the sentinels named the replica {promoted_at - killed_at:.2f} s after the kill; last bad answer "
              f"{None if last_bad is None else round(last_bad, 2)} s, first good answer on the new primary "
              f"{None if settled is None else round(settled, 2)} s after the kill")

        self.assertEqual(load.wrong, [], "a 200 carried another agent's key")
        self.assertEqual(set(before), {200}, before)
        self.assertEqual(set(after) - {200, 503}, set(), f"only 503 while the primary is gone: {after}\n{self.server.log()[-3000:]}")
        self.assertIsNotNone(settled, "no good answer after the failover")
        self.assertIsNotNone(last_bad, "the kill did not disturb the load: was the primary in use?")
        self.assertLess(last_bad, FAILOVER_BOUND_SECONDS, f"bad answers went on: {after}\n{self.server.log()[-3000:]}")
        recent = load.between(end - 2, end)
        self.assertEqual(set(recent), {200}, f"not serving from the new primary at the end: {recent}")

        replayed = agent.send(self.server.base_url, "POST", "/api/credentials/resolve", body, used_proof)
        self.assertEqual(replayed.status_code, 401, f"a replayed proof was accepted after the failover: {replayed.text}")
        ready = httpx.get(f"{self.server.base_url}/ready", timeout=10)
        self.assertEqual(ready.status_code, 200, ready.text)


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class TlsRedis(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="authsome-redis-tls-"))
        self.addCleanup(shutil.rmtree, self.dir, True)
        d = self.dir
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=authsome test CA",
                "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                "-keyout", str(d / "redis.key"), "-out", str(d / "redis.csr"))
        (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
        openssl("x509", "-req", "-in", str(d / "redis.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
                "-CAcreateserial", "-days", "1", "-extfile", str(d / "san.ext"), "-out", str(d / "redis.pem"))
        self.port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(d), "--tls-cert-file", str(d / "redis.pem"),
             "--tls-key-file", str(d / "redis.key"), "--tls-ca-cert-file", str(d / "ca.pem"), "--tls-auth-clients", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.addCleanup(lambda: (self.redis.kill(), self.redis.wait(timeout=10)))
        deadline = time.monotonic() + 20
        while subprocess.run(["redis-cli", "--tls", "--cacert", str(d / "ca.pem"), "-p", str(self.port), "ping"],
                             capture_output=True, text=True).stdout.strip() != "PONG":
            if time.monotonic() > deadline:
                raise RuntimeError("the TLS Redis did not start")
            time.sleep(0.05)
        self.url = f"rediss://127.0.0.1:{self.port}/0"

    def test_a_tls_redis_signed_by_a_private_ca_serves_agents(self) -> None:
        server = Server(Backends.postgres_redis(self.url),
                        {"AUTHSOME_MASTER_KEY": secrets.token_urlsafe(32),
                         "AUTHSOME_REDIS_CA_FILE": str(self.dir / "ca.pem")}).start()
        self.addCleanup(server.stop)
        agent = agents_with_keys(server.base_url, "tls", count=1)[0]
        body = encode({"provider": "openai"})
        proof = agent.proof("POST", "/api/credentials/resolve", body)
        resolved = agent.send(server.base_url, "POST", "/api/credentials/resolve", body, proof)
        self.assertEqual(resolved.status_code, 200, resolved.text)
        self.assertIn(key(0), resolved.text)
        self.assertEqual(agent.send(server.base_url, "POST", "/api/credentials/resolve", body, proof).status_code, 401)
        self.assertEqual(httpx.get(f"{server.base_url}/ready", timeout=10).status_code, 200)

    def test_without_the_ca_the_server_refuses_to_start_and_says_why(self) -> None:
        server = Server(Backends.postgres_redis(self.url), {"AUTHSOME_MASTER_KEY": secrets.token_urlsafe(32)})
        self.addCleanup(server.stop)
        with self.assertRaises(RuntimeError) as refused:
            server.start()
        message = str(refused.exception)
        self.assertIn("cannot connect to Redis", message)
        self.assertRegex(message.lower(), r"certificate|unknownissuer|issuer")


if __name__ == "__main__":
    unittest.main()
