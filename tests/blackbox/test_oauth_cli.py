"""`authsome login` from authsome 0.7.2's CLI, unchanged, for every login flow but API keys
(tested in test_reference_cli.py): the authorization code flow with PKCE, the device
authorization grant and dynamic client registration, against a real authorization server
(node-oidc-provider), with a person at a browser (tests/oauth/person.py, run by the CLI as its
BROWSER) who signs in there and consents; and a browser-cookie login, where the CLI reads the
cookies that a real headless Chromium stored in the person's Chrome profile.

After each login the CLI's own proxy code resolves the connection to a Bearer token, and the
authorization server's introspection endpoint says that token is active.

It runs on SQLite + disk with one server, and on Postgres + Redis with two replicas: the CLI
talks to replica A while the public address (AUTHSOME_BASE_URL, where the provider sends the
person back and where the device page lives) is replica B, as behind a load balancer that
sends the callback anywhere.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import threading
import time
import unittest
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from agent import Agent
from harness import HERE, PERSON, AuthorizationServer, Backends, Browser, Cli, Server, read_until

CALLBACK = "/api/auth/callback/oauth"
OPEN_WITH_PROFILE = HERE.parent / "browser" / "open-with-profile.mjs"


class CookieSite:
    """A web site whose sign-in page sets a session cookie (for an hour) on `localhost`."""

    def __init__(self) -> None:
        self.session = secrets.token_urlsafe(24)
        session = self.session

        class SignIn(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header("Set-Cookie", f"site_session={session}; Max-Age=3600; Path=/; HttpOnly")
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(b"<!doctype html><title>Signed in</title><p>Signed in.</p>")

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), SignIn)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.entry_url = f"http://localhost:{self.server.server_address[1]}/login"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
PASSWORD = "an OAuth owner's passphrase"


class OAuthLoginsThroughTheCli:
    """Mixed into one TestCase per deployment."""

    backends_factory = None
    replicas = 1

    @classmethod
    def setUpClass(cls) -> None:
        cls.scratch = Path(tempfile.mkdtemp(prefix="authsome-oauth-cli-"))
        cls.backends = cls.backends_factory()
        shared = {"AUTHSOME_MASTER_KEY": secrets.token_urlsafe(32)}
        cls.servers = [Server(cls.backends, dict(shared), owns_backends=False) for _ in range(cls.replicas)]
        cls.public = cls.servers[-1]
        for server in cls.servers:
            server.env["AUTHSOME_BASE_URL"] = cls.public.base_url
            server.start()
        cls.api = cls.servers[0]
        cls.authorization_server = AuthorizationServer([cls.public.base_url + CALLBACK])

        # The owner signs up at the public address; the CLI onboards through replica A.
        cls.owner = Browser(cls.public.base_url)
        assert cls.owner.sign_up("oauth-owner@example.com", PASSWORD).status_code == 303
        cls.cli = Cli(cls.api)
        onboarding = cls.cli.start("onboard")
        try:
            claim_url, _ = read_until(onboarding.stderr, r"http://127\.0\.0\.1:\d+/claim\?token=\S+")
            assert claim_url.startswith(cls.public.base_url), claim_url
            assert cls.owner.confirm_claim(claim_url).status_code == 303
            _, stderr = onboarding.communicate(timeout=120)
        finally:
            if onboarding.poll() is None:
                onboarding.kill()
        assert onboarding.returncode == 0, stderr
        # The owner's second agent, speaking the protocol directly, configures OAuth clients.
        cls.admin = Agent()
        assert cls.owner.confirm_claim(cls.admin.register(cls.api.base_url)).status_code == 303
        session_cookie = cls.owner.client.cookies.get("authsome_ui_session")
        cls.session_cookie = session_cookie
        cls.person_env = {
            "BROWSER": str(PERSON),
            "PERSON_COOKIE": f"authsome_ui_session={session_cookie}",
            "PERSON_COOKIE_ORIGIN": cls.public.base_url,
        }

    @classmethod
    def tearDownClass(cls) -> None:
        if os.environ.get("AUTHSOME_CLI_TEST_KEEP_LOG"):
            for server in cls.servers:
                print(server.log())
        cls.authorization_server.stop()
        cls.cli.cleanup()
        for server in cls.servers:
            server.stop()
        cls.backends.clean()
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def register(self, name: str, flow: str, client: tuple[str, str] | None) -> None:
        """The admin registers the provider and sets its OAuth client. (`authsome provider
        register` would send the same request, but the CLI refuses endpoints on 127.0.0.1
        before sending, and the test authorization server lives there.)"""
        registered = self.admin.call(
            self.api.base_url, "POST", "/api/providers", {"definition": self.authorization_server.definition(name, flow)}
        )
        self.assertEqual(registered.status_code, 200, registered.text)
        if client:
            configured = self.admin.call(
                self.api.base_url, "PUT", f"/api/providers/{name}/configuration",
                {"client_id": client[0], "client_secret": client[1], "scopes": ["openid", "offline_access", "api:read"]},
            )
            self.assertEqual(configured.status_code, 200, configured.text)

    def login(self, provider: str) -> tuple[dict, dict]:
        """`authsome login PROVIDER`: returns the CLI's report and where the person's browser went."""
        walk_log = self.scratch / f"{provider}-person.log"
        report = self.cli.json("login", provider, env={**self.person_env, "PERSON_LOG": str(walk_log)})
        self.assertTrue(walk_log.exists(), "the CLI never opened the browser")
        walked = json.loads(walk_log.read_text().splitlines()[-1])
        return report, walked

    def connected_record(self, provider: str, wait_seconds: float = 0) -> dict:
        """`authsome connections inspect PROVIDER`, waiting up to `wait_seconds` for it to exist."""
        deadline = time.monotonic() + wait_seconds
        while True:
            result = self.cli.run("connections", "inspect", provider)
            if result.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return json.loads(result.stdout)

    def session_status(self, session_id: str) -> str:
        """The login's status as its owner sees it, asked of replica A (not where it finished)."""
        response = httpx.get(
            f"{self.api.base_url}/api/auth/sessions/{session_id}/status",
            cookies={"authsome_ui_session": self.session_cookie}, timeout=30,
        )
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()["status"]

    def assert_resolves_to_a_live_token(self, provider: str) -> dict:
        record = self.connected_record(provider)
        self.assertEqual(record["status"], "connected")
        self.assertEqual(record["auth_type"], "oauth2")
        self.assertEqual(record["access_token"], "***REDACTED***")
        looked_up = self.cli.python_script("proxy_lookup.py", f"api.{provider}.example", "/v1/things")
        self.assertEqual(looked_up["match"], {"provider": provider, "connection": "default"})
        header = looked_up["headers"]["Authorization"]
        self.assertTrue(header.startswith("Bearer "), header)
        introspected = self.authorization_server.introspect(header.removeprefix("Bearer "))
        self.assertTrue(introspected.get("active"), introspected)
        return introspected

    def assert_landed_on_the_public_address(self, walked: dict) -> None:
        self.assertTrue(walked["url"].startswith(self.public.base_url + "/auth/success?session="), walked)
        if self.replicas > 1:
            # Nothing the person saw came from replica A, which started the login.
            self.assertFalse([p for p in walked["pages"] if p.startswith(self.api.base_url)], walked)

    def test_a_pkce_login(self) -> None:
        self.register("cli-pkce", "pkce", ("authsome-pkce", "pkce-client-secret"))
        report, walked = self.login("cli-pkce")
        self.assertEqual((report["status"], report["record_status"]), ("started", "waiting_for_user"), report)
        self.assertTrue(report["auth_url"].startswith(self.authorization_server.issuer + "/auth?"), report)
        self.assertIn("code_challenge_method=S256", report["auth_url"])
        self.assertTrue(any(p.startswith(self.public.base_url + CALLBACK) for p in walked["pages"]), walked)
        self.assert_landed_on_the_public_address(walked)
        self.assertEqual(self.assert_resolves_to_a_live_token("cli-pkce")["client_id"], "authsome-pkce")
        self.assertEqual(self.session_status(report["session_id"]), "completed")

    def test_a_device_code_login(self) -> None:
        self.register("cli-device", "device_code", ("authsome-device", "device-client-secret"))
        report, walked = self.login("cli-device")
        self.assertEqual(report["status"], "started", report)
        self.assertTrue(report["user_code"], report)
        self.assertTrue(report["verification_uri"].startswith(self.authorization_server.issuer), report)
        self.assertEqual(report["auth_url"], f"{self.public.base_url}/auth/device?session={report['session_id']}")
        self.assertTrue(any("user_code=" in p for p in walked["pages"]), walked)
        # The vault polls the token endpoint (any replica may); the connection appears.
        self.connected_record("cli-device", wait_seconds=40)
        self.assertEqual(self.assert_resolves_to_a_live_token("cli-device")["client_id"], "authsome-device")
        # The reference stored the connection but left the session waiting on Redis (§11.9).
        self.assertEqual(self.session_status(report["session_id"]), "completed")

    def test_a_dynamic_client_registration_login(self) -> None:
        self.register("cli-dcr", "dcr_pkce", None)
        report, walked = self.login("cli-dcr")
        self.assertEqual(report["status"], "started", report)
        # Without --scopes the person is asked for them first (the definition's are the default).
        self.assertEqual(report["auth_url"], f"{self.public.base_url}/auth/input?session={report['session_id']}")
        self.assertTrue(any(p.startswith(self.authorization_server.issuer + "/auth?") for p in walked["pages"]), walked)
        self.assert_landed_on_the_public_address(walked)
        introspected = self.assert_resolves_to_a_live_token("cli-dcr")
        # A client the authorization server registered for us, not one of its static ones.
        self.assertNotIn(introspected["client_id"], {"authsome-pkce", "authsome-basic", "authsome-device"})

    def test_a_browser_cookie_login(self) -> None:
        if not (OPEN_WITH_PROFILE.parent / "node_modules" / "playwright-core").is_dir():
            raise RuntimeError("run `npm ci` in tests/browser first (scripts/test does)")
        site = CookieSite()
        try:
            definition = {
                "name": "cli-cookies",
                "display_name": "Cookie site",
                "auth_type": "browser",
                "flow": "browser",
                "browser": {
                    "entry_url": site.entry_url,
                    "domains": ["localhost"],
                    "auth_cookies": ["site_session"],
                    "ttl_hours": 12,
                    "ttl_from_cookie": "site_session",
                    "extract": [{"cookie": "site_session", "header": "Authorization", "prefix": "Session "}],
                },
                "api_url": "api.cli-cookies.example",
            }
            registered = self.admin.call(self.api.base_url, "POST", "/api/providers", {"definition": definition})
            self.assertEqual(registered.status_code, 200, registered.text)
            began = time.time()
            # The CLI finds no cookie, opens the entry page in the browser (Chromium signs in
            # and stores the cookie), reads Chrome's cookie database and hands the cookies over.
            login = self.cli.run_in_desktop_session("login", "cli-cookies", env={"BROWSER": str(OPEN_WITH_PROFILE)})
        finally:
            site.stop()
        self.assertEqual(login.returncode, 0, login.stdout + login.stderr)
        # The keyring daemon the session bus started announces itself on the shared stdout first.
        report = json.loads(login.stdout[login.stdout.index("{"):])
        self.assertEqual((report["status"], report["record_status"]), ("success", "completed"), report)
        record = self.connected_record("cli-cookies")
        self.assertEqual((record["status"], record["auth_type"]), ("connected", "browser"))
        # The expiry is the cookie's own (an hour), not ttl_hours (12).
        expires = record["expires_at"]
        self.assertIsNotNone(expires, record)
        left = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp() - began
        self.assertTrue(3500 < left < 3700, (expires, left))
        looked_up = self.cli.python_script("proxy_lookup.py", "api.cli-cookies.example", "/v1/things")
        self.assertEqual(looked_up["match"], {"provider": "cli-cookies", "connection": "default"})
        self.assertEqual(looked_up["headers"].get("Authorization"), f"Session {site.session}", looked_up)


class SqliteDiskOAuthCli(OAuthLoginsThroughTheCli, unittest.TestCase):
    backends_factory = staticmethod(Backends.sqlite_disk)


class PostgresRedisTwoReplicasOAuthCli(OAuthLoginsThroughTheCli, unittest.TestCase):
    backends_factory = staticmethod(Backends.postgres_redis)
    replicas = 2


if __name__ == "__main__":
    unittest.main()
