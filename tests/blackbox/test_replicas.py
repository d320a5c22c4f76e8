"""Two authsome-rs replicas on different ports sharing one Postgres and one Redis, as behind a
load balancer: nothing a request depends on may live in one replica's memory or disk.

Needs AUTHSOME_TEST_DATABASE_URL and AUTHSOME_TEST_REDIS_URL (fails loudly without them).
"""

import secrets
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import httpx

from agent import Agent
from harness import Backends, Browser, Server

PASSWORD = "a replicated passphrase"


def key(n: int | str) -> str:
    return f"sk-proj-replica{n:0>20}"


class TwoReplicas(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.backends = Backends.postgres_redis()
        shared = {"AUTHSOME_MASTER_KEY": secrets.token_urlsafe(32)}
        cls.a = Server(cls.backends, shared, owns_backends=False).start()
        cls.b = Server(cls.backends, shared, owns_backends=False).start()
        # One person owns the agents used below (signed up through A).
        cls.owner = Browser(cls.a.base_url)
        assert cls.owner.sign_up("owner@example.com", PASSWORD).status_code == 303

    @classmethod
    def tearDownClass(cls) -> None:
        cls.a.stop()
        cls.b.stop()
        cls.backends.clean()

    def claimed_agent(self, through: Server) -> Agent:
        agent = Agent()
        claim_url = agent.register(through.base_url)
        browser = Browser(through.base_url)
        browser.client.cookies = self.owner.client.cookies
        self.assertEqual(browser.confirm_claim(claim_url).status_code, 303)
        return agent

    def test_a_proof_accepted_by_one_replica_is_refused_by_the_other(self) -> None:
        agent = self.claimed_agent(self.a)
        proof = agent.proof("GET", "/api/whoami", b"")
        self.assertEqual(agent.send(self.a.base_url, "GET", "/api/whoami", b"", proof).status_code, 200)
        replayed = agent.send(self.b.base_url, "GET", "/api/whoami", b"", proof)
        self.assertEqual(replayed.status_code, 401)
        self.assertEqual(replayed.json()["detail"], "Proof JWT was already used")

    def test_an_identity_claimed_through_one_replica_is_served_by_the_other_at_once(self) -> None:
        agent = Agent()
        claim_url = agent.register(self.a.base_url)
        # B sees the registration, unclaimed...
        self.assertEqual(agent.call(self.b.base_url, "GET", "/api/whoami").status_code, 403)
        browser = Browser(self.a.base_url)
        browser.client.cookies = self.owner.client.cookies
        self.assertEqual(browser.confirm_claim(claim_url).status_code, 303)
        # ...and the claim the moment A has confirmed it.
        me = agent.call(self.b.base_url, "GET", "/api/whoami")
        self.assertEqual(me.status_code, 200, me.text)
        self.assertEqual(me.json()["identity"], agent.handle)

    def test_a_browser_session_from_one_replica_works_on_the_other_until_logout(self) -> None:
        person = Browser(self.a.base_url)
        self.assertEqual(person.sign_up(f"roamer-{secrets.token_hex(3)}@example.com", PASSWORD).status_code, 303)
        on_b = httpx.Client(base_url=self.b.base_url, cookies=person.client.cookies, timeout=30)
        self.assertEqual(on_b.get("/api/whoami").status_code, 200)
        home = person.get("/").text
        csrf = Browser.hidden_field(home, "csrf_token")
        logged_out = person.post_form("/api/logout", {"return_url": "/login", "csrf_token": csrf})
        self.assertEqual(logged_out.status_code, 303)
        refused = on_b.get("/api/whoami")
        self.assertEqual(refused.status_code, 401, "logout on A ends the session on B")

    def test_a_connection_written_through_one_replica_is_read_through_the_other(self) -> None:
        agent = self.claimed_agent(self.a)
        stored = agent.store_api_key(self.a.base_url, "openai", "default", key("a-wrote"))
        self.assertEqual(stored.json()["status"], "completed", stored.text)
        read = agent.call(self.b.base_url, "GET", "/api/connections/openai/default")
        self.assertEqual(read.status_code, 200, read.text)
        self.assertEqual(read.json()["api_key"], key("a-wrote"))
        resolved = agent.call(self.b.base_url, "POST", "/api/credentials/resolve", {"connection": None, "provider": "openai"})
        self.assertEqual(resolved.json()["headers"], {"Authorization": f"Bearer {key('a-wrote')}"})
        # Listed through B from the listing index A maintained (the first replica to start built
        # it; from then on listings read it instead of scanning the keyspace).
        self.assertIn("vault listing index built", self.a.log() + self.b.log())
        listed = agent.call(self.b.base_url, "GET", "/api/connections")
        self.assertEqual(listed.status_code, 200, listed.text)
        groups = {group["name"]: group for group in listed.json()["connections"]}
        self.assertEqual([c["connection_name"] for c in groups["openai"]["connections"]], ["default"])

    def test_an_api_key_login_started_on_one_replica_completes_on_the_other(self) -> None:
        agent = self.claimed_agent(self.a)
        started = agent.call(self.a.base_url, "POST", "/api/auth/sessions",
                             {"base_url": None, "connection": "default", "flow": None, "force": False, "provider": "anthropic", "scopes": None})
        self.assertEqual(started.status_code, 200, started.text)
        input_url = started.json()["next_action"]["url"].replace(self.a.base_url, self.b.base_url)
        on_b = Browser(self.b.base_url)
        on_b.client.cookies = self.owner.client.cookies
        filled = on_b.fill_input(input_url, {"api_key": "sk-ant-api03-" + "replica" * 4})
        self.assertEqual(filled.status_code, 303, filled.text)
        session = agent.call(self.a.base_url, "GET", f"/api/auth/sessions/{started.json()['id']}").json()
        self.assertEqual(session["status"], "completed")
        self.assertEqual(agent.call(self.a.base_url, "GET", "/api/connections/anthropic/default").status_code, 200)

    def test_z_killing_a_replica_during_writes_loses_no_acknowledged_write(self) -> None:
        # Runs last (name order): it kills replica A.
        agent = self.claimed_agent(self.b)
        acknowledged: set[int] = set()
        lock = threading.Lock()
        counter = iter(range(1_000_000))
        stop = threading.Event()

        def writer(base_url: str) -> int:
            written = 0
            with httpx.Client(timeout=10) as client:
                while not stop.is_set():
                    with lock:
                        n = next(counter)
                    try:
                        reply = agent.store_api_key(base_url, "openai", f"load-{n}", key(n), client)
                    except (httpx.HTTPError, httpx.HTTPStatusError):
                        return written
                    if reply.status_code == 200 and reply.json().get("status") == "completed":
                        with lock:
                            acknowledged.add(n)
                        written += 1
            return written

        with ThreadPoolExecutor(max_workers=6) as pool:
            on_a = [pool.submit(writer, self.a.base_url) for _ in range(4)]
            on_b = [pool.submit(writer, self.b.base_url) for _ in range(2)]
            time.sleep(2.0)
            self.a.kill()
            # A is gone mid-write; B keeps serving.
            time.sleep(1.0)
            self.assertEqual(httpx.get(f"{self.b.base_url}/ready", timeout=10).status_code, 200)
            stop.set()
            written_on_a = sum(f.result() for f in on_a)
            written_on_b = sum(f.result() for f in on_b)
        self.assertGreater(written_on_a, 0, "A acknowledged writes before it died")
        self.assertGreater(written_on_b, 0)
        with httpx.Client(timeout=30) as client:
            for n in sorted(acknowledged):
                read = agent.call(self.b.base_url, "GET", f"/api/connections/openai/load-{n}", client=client)
                self.assertEqual(read.status_code, 200, f"acknowledged write load-{n} is missing: {read.text}")
                self.assertEqual(read.json()["api_key"], key(n))
        print(f"\n  {len(acknowledged)} acknowledged writes ({written_on_a} through A before SIGKILL), all readable through B")


if __name__ == "__main__":
    unittest.main()
