"""Token refresh across two authsome-rs replicas on Postgres + Redis, against a real
authorization server (node-oidc-provider) that rotates refresh tokens and ends the whole grant
when a used one comes back, as real providers do.

- 100 agents' requests resolving one expired connection at the same moment, half through each
  replica, cause exactly one refresh grant, and all 100 get the token the server accepts; the
  rotated refresh token works for the next refresh.
- A grant the person revoked at the provider: `RefreshFailedError`, the connection reads
  `expired` from both replicas, `provider.refresh_failed` is in the audit log.
- Logging out ends the tokens at the provider (its introspection says inactive).
- A replica SIGKILLed while it holds a connection's refresh: the other replica refreshes once
  the dead holder's lease runs out, within the documented bound.
- Redis (which holds the vault, the leases and the replay cache) killed while a refresh is out
  at the provider: back within the store's retries, the refreshed record is stored from the
  same grant; down for longer, the resolve answers 503 and the stored record is the old one,
  whole.

The single-replica (memory) cases, refusals, timeouts and logout revocation are in
app/tests/integration/oauth_refresh.rs.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import httpx

from agent import Agent
from harness import AuthorizationServer, Backends, Browser, PrivateRedis, Server, connect_with_pkce

CALLBACK = "/api/auth/callback/oauth"
PASSWORD = "a refreshing owner's passphrase"
TOKEN_SECONDS = 3
OUTBOUND_TIMEOUT_SECONDS = 2
# app/src/services/oauth/refresh.rs: the lease is the outbound timeout plus 5 s; no request
# waits longer than two leases.
LEASE_SECONDS = OUTBOUND_TIMEOUT_SECONDS + 5


class RefreshAcrossReplicas(unittest.TestCase):
    redis: PrivateRedis | None = None

    @classmethod
    def setUpClass(cls) -> None:
        cls.backends = Backends.postgres_redis(cls.redis.start().url if cls.redis else None)
        shared = {"AUTHSOME_MASTER_KEY": secrets.token_urlsafe(32),
                  "AUTHSOME_OUTBOUND_TIMEOUT_SECONDS": str(OUTBOUND_TIMEOUT_SECONDS)}
        cls.replicas = [Server(cls.backends, dict(shared), owns_backends=False) for _ in range(2)]
        public = cls.replicas[1]
        for replica in cls.replicas:
            replica.env["AUTHSOME_BASE_URL"] = public.base_url
            replica.start()
        cls.authorization_server = AuthorizationServer([public.base_url + CALLBACK], access_token_ttl=TOKEN_SECONDS)
        cls.owner = Browser(public.base_url)
        assert cls.owner.sign_up("refresh-owner@example.com", PASSWORD).status_code == 303
        cls.agent = Agent()
        assert cls.owner.confirm_claim(cls.agent.register(public.base_url)).status_code == 303
        cls.cookie = cls.owner.client.cookies.get("authsome_ui_session")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.authorization_server.stop()
        for replica in cls.replicas:
            replica.stop()
        cls.backends.clean()
        if cls.redis:
            cls.redis.stop()

    def call(self, replica: Server, method: str, path: str, body=None) -> httpx.Response:
        return self.agent.call(replica.base_url, method, path, body)

    def connect(self, provider: str) -> dict:
        """A PKCE connection to `provider` made through replica A, the person coming back to
        replica B; returns the stored connection."""
        connect_with_pkce(self.agent, self.replicas[0].base_url, self.replicas[1].base_url,
                          self.authorization_server, self.cookie, provider)
        return self.stored(provider)

    def stored(self, provider: str) -> dict:
        # Right after Redis comes back, a replica's first request may still find its
        # connection broken (503, to be retried) while it reconnects.
        deadline = time.monotonic() + 10
        while True:
            record = self.call(self.replicas[-1], "GET", f"/api/connections/{provider}/default")
            if record.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(record.status_code, 200, record.text)
        return record.json()

    def resolve(self, replica: Server, provider: str) -> httpx.Response:
        return self.call(replica, "POST", "/api/credentials/resolve", {"provider": provider})

    def bearer(self, response: httpx.Response) -> str:
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()["headers"]["Authorization"].removeprefix("Bearer ")

    def test_a_hundred_concurrent_resolves_through_two_replicas_cause_one_refresh_grant(self) -> None:
        before = self.connect("refresh-crowd")
        time.sleep(TOKEN_SECONDS + 0.3)
        grants = self.authorization_server.token_requests("refresh_token")

        # Proofs are signed and clients made up front, so the 100 requests leave together; the
        # server takes a second over the one grant, so every request arrives while it is out.
        requests = []
        for n in range(100):
            replica = self.replicas[n % 2]
            body = json.dumps({"provider": "refresh-crowd"}, separators=(",", ":"), sort_keys=True).encode()
            requests.append((replica, body, self.agent.proof("POST", "/api/credentials/resolve", body), httpx.Client()))
        barrier = threading.Barrier(len(requests))
        self.authorization_server.hold_next_token_request(1_000)

        def send(request):
            replica, body, proof, client = request
            barrier.wait()
            sent = time.monotonic()
            with client:
                response = self.agent.send(replica.base_url, "POST", "/api/credentials/resolve", body, proof, client)
            return response, time.monotonic() - sent

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            results = list(pool.map(send, requests))
        all_served = time.monotonic() - started
        tokens = {self.bearer(response) for response, _ in results}
        self.assertEqual(self.authorization_server.token_requests("refresh_token"), (grants[0] + 1, grants[1]),
                         "one refresh grant")
        self.assertEqual(len(tokens), 1, tokens)
        token = tokens.pop()
        self.assertNotEqual(token, before["access_token"])
        self.assertTrue(self.authorization_server.introspect(token).get("active"))
        after = self.stored("refresh-crowd")
        self.assertNotEqual(after["refresh_token"], before["refresh_token"], "the rotated refresh token was kept")
        slowest = max(took for _, took in results)
        print(f"\n  100 concurrent resolves of an expired token through 2 replicas: 1 refresh grant, "
              f"all served in {all_served * 1000:.0f} ms (slowest request {slowest * 1000:.0f} ms)")

        # The rotated refresh token works for the next refresh, from the other replica.
        time.sleep(TOKEN_SECONDS + 0.3)
        next_token = self.bearer(self.resolve(self.replicas[1], "refresh-crowd"))
        self.assertEqual(self.authorization_server.token_requests("refresh_token"), (grants[0] + 2, grants[1]))
        self.assertTrue(self.authorization_server.introspect(next_token).get("active"))

        counted = [
            line
            for replica in self.replicas
            for line in httpx.get(f"{replica.base_url}/metrics", timeout=30).text.splitlines()
            if line.startswith('authsome_oauth_refreshes_total{provider="refresh-crowd"')
        ]
        waited = sum(int(line.rsplit(" ", 1)[1]) for line in counted if 'outcome="waited"' in line)
        self.assertEqual(waited, 99, f"99 requests were served by the one refresh: {counted}")

    def test_a_revoked_grant_fails_the_refresh_and_reads_expired_everywhere(self) -> None:
        before = self.connect("refresh-revoked")
        revoked = httpx.post(f"{self.authorization_server.issuer}/token/revocation",
                             data={"token": before["refresh_token"]}, auth=("authsome-pkce", "pkce-client-secret"), timeout=30)
        self.assertEqual(revoked.status_code, 200, revoked.text)
        time.sleep(TOKEN_SECONDS + 0.3)
        refused = self.resolve(self.replicas[0], "refresh-revoked")
        self.assertEqual(refused.status_code, 400, refused.text)
        self.assertEqual(refused.json()["error"], "RefreshFailedError")
        self.assertIn("invalid_grant", refused.json()["message"])
        self.assertNotIn(before["refresh_token"], refused.text)
        # The other replica answers the same, from the record, without another grant.
        again = self.resolve(self.replicas[1], "refresh-revoked")
        self.assertEqual((again.status_code, again.json()["error"]), (400, "RefreshFailedError"), again.text)
        for replica in self.replicas:
            record = self.call(replica, "GET", "/api/connections/refresh-revoked/default").json()
            self.assertEqual(record["status"], "expired")
        events = self.call(self.replicas[1], "GET", "/api/audit/events?limit=100").json()["entries"]
        failed = [e for e in events if e["event"] == "provider.refresh_failed" and e.get("provider") == "refresh-revoked"]
        self.assertEqual(len(failed), 1, failed)
        self.assertFalse(failed[0]["fallback_available"])

    def test_logging_out_ends_the_tokens_at_the_provider(self) -> None:
        record = self.connect("refresh-logout")
        self.assertTrue(self.authorization_server.introspect(record["access_token"]).get("active"))
        logged_out = self.call(self.replicas[1], "POST", "/api/connections/refresh-logout/default/logout")
        self.assertEqual(logged_out.status_code, 200, logged_out.text)
        self.assertFalse(self.authorization_server.introspect(record["access_token"]).get("active"))
        self.assertFalse(self.authorization_server.introspect(record["refresh_token"]).get("active"))
        self.assertEqual(self.call(self.replicas[0], "GET", "/api/connections/refresh-logout/default").status_code, 404)

    def test_z_a_replica_killed_while_refreshing_leaves_the_refresh_to_the_other(self) -> None:
        self.connect("refresh-orphan")
        time.sleep(TOKEN_SECONDS + 0.3)
        grants_before = self.authorization_server.token_requests("refresh_token")
        # Replica A takes the lease and sends its grant, which the server holds; A dies.
        self.authorization_server.hold_next_token_request(60_000)
        a, b = self.replicas
        dying = threading.Thread(target=lambda: self.resolve_quietly(a, "refresh-orphan"), daemon=True)
        dying.start()
        time.sleep(1.0)
        a.kill()

        started = time.monotonic()
        token = self.bearer(self.resolve(b, "refresh-orphan"))
        waited = time.monotonic() - started
        self.assertLess(waited, 2 * LEASE_SECONDS, "within the documented bound")
        self.assertGreater(waited, LEASE_SECONDS - 2, "after the dead holder's lease ran out")
        successes, errors = self.authorization_server.token_requests("refresh_token")
        self.assertEqual((successes - grants_before[0], errors - grants_before[1]), (1, 0),
                         "the dead replica's grant never reached the server; the other's did, once")
        self.assertTrue(self.authorization_server.introspect(token).get("active"))
        print(f"\n  replica A killed holding the refresh: B served the refreshed token after {waited:.1f} s "
              f"(lease {LEASE_SECONDS} s)")

    def resolve_quietly(self, replica: Server, provider: str) -> None:
        try:
            self.resolve(replica, provider)
        except httpx.HTTPError:
            pass


class RefreshWhileRedisFails(RefreshAcrossReplicas):
    """The same deployment on a Redis of its own, which the tests kill and start again."""

    redis = PrivateRedis()

    # The other cases are RefreshAcrossReplicas'.
    test_a_hundred_concurrent_resolves_through_two_replicas_cause_one_refresh_grant = None
    test_a_revoked_grant_fails_the_refresh_and_reads_expired_everywhere = None
    test_logging_out_ends_the_tokens_at_the_provider = None
    test_z_a_replica_killed_while_refreshing_leaves_the_refresh_to_the_other = None

    def refresh_with_redis_down(self, provider: str, down_seconds: float) -> tuple[httpx.Response, float]:
        """Resolves `provider`'s expired token through replica A while the provider holds the
        grant for 1.5 s (within the outbound timeout) and Redis is down from 0.5 s for `down_seconds`."""
        time.sleep(TOKEN_SECONDS + 0.3)
        self.authorization_server.hold_next_token_request(1_500)
        answer: list = []
        started = time.monotonic()
        resolving = threading.Thread(target=lambda: answer.append(self.resolve(self.replicas[0], provider)))
        resolving.start()
        time.sleep(0.5)
        self.redis.kill()
        time.sleep(down_seconds)
        self.redis.start()
        resolving.join(timeout=60)
        return answer[0], time.monotonic() - started

    def test_a_short_outage_during_a_refresh_is_ridden_out_from_the_same_grant(self) -> None:
        self.connect("refresh-blip")
        grants = self.authorization_server.token_requests("refresh_token")[0]
        response, took = self.refresh_with_redis_down("refresh-blip", 1.5)
        self.assertEqual(response.status_code, 200, f"{response.text}\n{self.replicas[0].log()[-3000:]}")
        token = self.bearer(response)
        self.assertEqual(self.authorization_server.token_requests("refresh_token")[0], grants + 1)
        self.assertEqual(self.stored("refresh-blip")["access_token"], token, "the refreshed record was stored")
        # What was stored is the rotated refresh token: the next refresh works.
        time.sleep(TOKEN_SECONDS + 0.3)
        self.assertTrue(self.authorization_server.introspect(self.bearer(self.resolve(self.replicas[1], "refresh-blip"))).get("active"))
        print(f"\n  Redis down 1.5 s during a refresh: stored from the same grant, answered in {took:.1f} s")

    def test_redis_down_through_a_refresh_answers_503_and_leaves_the_record_whole(self) -> None:
        before = self.connect("refresh-outage")
        response, took = self.refresh_with_redis_down("refresh-outage", 6)
        self.assertEqual(response.status_code, 503, response.text)
        self.assertNotIn(before["refresh_token"], response.text)
        after = self.stored("refresh-outage")
        self.assertEqual((after["access_token"], after["refresh_token"], after["status"]),
                         (before["access_token"], before["refresh_token"], "connected"),
                         "the record is the old one, whole")
        print(f"\n  Redis down through a refresh: 503 after {took:.1f} s, the record untouched")


if __name__ == "__main__":
    unittest.main()
