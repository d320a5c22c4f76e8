"""authsome 0.7.2's CLI, unchanged, against authsome-rs: onboarding with a browser claim,
whoami, importing a key from the environment, provider list, connections inspect, an API-key
login completed in the browser form, log, logout, and the credential lookups of `authsome run`.

Each scenario runs on SQLite + disk (the local default) and on Postgres + Redis (production).
The steps build on each other, so they run in order within a backend set.
"""

import json
import os
import unittest
from pathlib import Path

import httpx

from harness import Backends, Browser, Cli, Server, read_until

OPENAI_KEY = "sk-proj-" + "a1b2c3d4e5" * 4
ANTHROPIC_KEY = "sk-ant-api03-" + "Zy9" * 12
PASSWORD = "a long and careful passphrase"


class ReferenceCliScenarios:
    """Mixed into one TestCase per backend set."""

    backends_factory = None
    server: Server
    cli: Cli
    browser: Browser
    agent: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server(cls.backends_factory()).start()
        cls.cli = Cli(cls.server)
        cls.browser = Browser(cls.server.base_url)
        cls.email = "owner@example.com"

    @classmethod
    def tearDownClass(cls) -> None:
        if os.environ.get("AUTHSOME_CLI_TEST_KEEP_LOG"):
            print(cls.server.log())
        cls.cli.cleanup()
        cls.server.stop()

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        return httpx.request(method, self.server.base_url + path, timeout=30, **kwargs)

    # 1. onboard: registration, the claim in the browser, and a key imported from the environment.
    def test_01_onboard_claims_in_the_browser_and_imports_a_key_from_the_environment(self) -> None:
        process = self.cli.start("onboard", env={"OPENAI_API_KEY": OPENAI_KEY})
        try:
            claim_url, _ = read_until(process.stderr, r"http://127\.0\.0\.1:\d+/claim\?token=\S+")
            # Weakness 1: the claim link is never handed to anyone but the registering request.
            handle_status = self.api("GET", "/api/identities/" + self._registered_handle()).json()
            self.assertNotIn("claim_url", handle_status)
            self.assertEqual(handle_status["registration_status"], "claim_required")

            signed_up = self.browser.sign_up(self.email, PASSWORD, next_path="/claim?token=" + claim_url.split("token=")[1])
            self.assertEqual(signed_up.status_code, 303, signed_up.text)
            self.assertIn("authsome_ui_session", signed_up.headers.get("set-cookie", ""))
            confirmed = self.browser.confirm_claim(claim_url)
            self.assertEqual((confirmed.status_code, confirmed.headers.get("location")), (303, "/"))
            stdout, stderr = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
        self.assertEqual(process.returncode, 0, stderr)
        report = json.loads(stdout)
        self.assertEqual(report["status"], "onboarded")
        self.assertEqual(report["daemon_base_url"], self.server.base_url)
        self.assertEqual(report["imported_count"], 1)
        imported = [r for r in report["results"] if r.get("status") == "imported"]
        self.assertEqual([r["provider"] for r in imported], ["openai"])
        type(self).agent = report["agent"]
        # The used claim link is dead.
        self.assertEqual(self.browser.follow(claim_url.replace(self.server.base_url, "")).status_code, 404)

    def _registered_handle(self) -> str:
        # The CLI registered its identity before printing the claim link.
        config = json.loads((Path(self.cli.env["AUTHSOME_HOME"]) / "client" / "config.json").read_text())
        return config["active_identity"]

    # 2. whoami
    def test_02_whoami_reports_the_claimed_agent_and_its_connection(self) -> None:
        report = self.cli.json("whoami")
        self.assertEqual(report["agent"], self.agent)
        self.assertEqual(report["daemon_url"], self.server.base_url)
        self.assertEqual(report["vault_status"], "OK")
        self.assertEqual(report["issues"], [])
        self.assertTrue(report["principal_id"].startswith("principal_"))
        self.assertEqual([p["name"] for p in report["connected_providers"]], ["openai"])

    # 3. provider list
    def test_03_provider_list_shows_the_catalog_and_the_connection(self) -> None:
        report = self.cli.json("provider", "list")
        bundled = {p["name"]: p for p in report["bundled"]}
        self.assertGreaterEqual(len(bundled), 47)
        self.assertEqual(bundled["openai"]["auth_type"], "api_key")
        self.assertEqual([c["connection_name"] for c in bundled["openai"]["connections"]], ["default"])
        self.assertEqual(bundled["anthropic"]["connections"], [])

    # 4. connections inspect
    def test_04_connections_inspect_reads_the_record_with_the_key_redacted(self) -> None:
        record = self.cli.json("connections", "inspect", "openai")
        self.assertEqual(record["provider"], "openai")
        self.assertEqual(record["status"], "connected")
        self.assertEqual(record["identity"], self.agent)
        self.assertEqual(record["api_key"], "***REDACTED***")
        missing = self.cli.run("connections", "inspect", "anthropic")
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("not found", (missing.stdout + missing.stderr).lower())

    # 5. login <api-key provider>, completed in the browser form.
    def test_05_login_is_completed_through_the_input_form(self) -> None:
        started = self.cli.json("login", "anthropic")
        self.assertEqual(started["record_status"], "waiting_for_user")
        input_url = started["auth_url"]
        self.assertIn("/auth/input?session=", input_url)

        # Weakness 3: another signed-in person cannot see or fill this session's form.
        stranger = Browser(self.server.base_url)
        self.assertEqual(stranger.sign_up("stranger@example.com", PASSWORD).status_code, 303)
        self.assertEqual(stranger.follow(input_url.replace(self.server.base_url, "")).status_code, 404)

        refused = self.browser.fill_input(input_url, {"api_key": "not-an-anthropic-key"})
        self.assertEqual(refused.status_code, 400)
        self.assertIn("sk-ant-", refused.text)
        accepted = self.browser.fill_input(input_url, {"api_key": ANTHROPIC_KEY})
        self.assertEqual(accepted.status_code, 303, accepted.text)
        self.assertTrue(accepted.headers["location"].startswith("/auth/success?session="))
        self.assertIn("Connected", self.browser.follow(accepted.headers["location"]).text)

        names = [p["name"] for p in self.cli.json("whoami")["connected_providers"]]
        self.assertEqual(names, ["anthropic", "openai"])

    # 6. authsome run: route table and credential resolution, with the CLI's own proxy code.
    def test_06_run_resolves_credentials_for_matched_requests(self) -> None:
        openai = self.cli.python_script("proxy_lookup.py", "api.openai.com", "/v1/chat/completions")
        self.assertEqual(openai["match"], {"provider": "openai", "connection": "default"})
        self.assertEqual(openai["headers"], {"Authorization": f"Bearer {OPENAI_KEY}"})
        anthropic = self.cli.python_script("proxy_lookup.py", "api.anthropic.com", "/v1/messages")
        self.assertEqual(anthropic["match"]["provider"], "anthropic")
        self.assertEqual(anthropic["headers"], {"x-api-key": ANTHROPIC_KEY})
        unrouted = self.cli.python_script("proxy_lookup.py", "example.org", "/")
        self.assertIsNone(unrouted["match"])
        configured = self.cli.python_script("proxy_lookup.py", "api.mistral.ai", "/v1/models", "configured", "route-only")
        self.assertEqual(configured["match"], {"provider": "mistral", "connection": "default"})

    # 7. log
    def test_07_log_lists_what_happened(self) -> None:
        entries = self.cli.json("log")["entries"]
        events = [(e["event"], e.get("provider")) for e in entries]
        for expected in [("identity.created", None), ("identity.claimed", None), ("provider.login", "openai"), ("provider.login", "anthropic")]:
            self.assertIn(expected, events)
        self.assertIn(("provider.login_failed", "anthropic"), events)
        self.assertTrue(all(e["identity"] == self.agent for e in entries if e["event"] == "provider.login"))

    # 8. logout
    def test_08_logout_removes_the_connection(self) -> None:
        report = self.cli.json("logout", "anthropic")
        self.assertEqual(report["status"], "logged_out")
        self.assertEqual([p["name"] for p in self.cli.json("whoami")["connected_providers"]], ["openai"])
        after = self.cli.python_script("proxy_lookup.py", "api.anthropic.com", "/v1/messages")
        self.assertIsNone(after["match"])


class SqliteDiskCli(ReferenceCliScenarios, unittest.TestCase):
    backends_factory = staticmethod(Backends.sqlite_disk)


class PostgresRedisCli(ReferenceCliScenarios, unittest.TestCase):
    backends_factory = staticmethod(Backends.postgres_redis)


if __name__ == "__main__":
    unittest.main()
