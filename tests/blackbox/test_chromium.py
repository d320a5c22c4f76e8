"""A real browser on authsome-rs's pages: headless Chromium (Debian's package, driven by
playwright-core from tests/browser) signs up from the claim link `authsome onboard` prints,
claims the agent, then signs in from the link `authsome login openai` prints and enters the
API key. The agent then resolves that key. Then an OAuth login: the person enters the OAuth
client on the input page and is taken to a real authorization server (node-oidc-provider),
signs in and consents there, and lands on the success page; the agent resolves a live token.

Needs CHROMIUM_PATH (default /usr/bin/chromium), node, and tests/browser/node_modules
(`npm ci` there); fails loudly without them.
"""

import json
import os
import shutil
import subprocess
import unittest
from pathlib import Path

from agent import Agent
from harness import AuthorizationServer, Backends, Browser, Cli, Server, read_until

BROWSER_DIR = Path(__file__).resolve().parent.parent / "browser"
OPENAI_KEY = "sk-proj-" + "chromium01" * 4


def person(*args: str) -> dict:
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        raise RuntimeError("run `npm ci` in tests/browser first (scripts/test does)")
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not shutil.which(chromium):
        raise RuntimeError(f"Chromium not found at {chromium} (Debian package `chromium`)")
    result = subprocess.run(["node", "person.mjs", *args], cwd=BROWSER_DIR, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"the browser failed: {result.stderr}\n{result.stdout}")
    return json.loads(result.stdout.strip().splitlines()[-1])


class ChromiumCompletesTheHumanSteps(unittest.TestCase):
    def test_sign_up_claim_and_api_key_input_in_chromium(self) -> None:
        server = Server(Backends.sqlite_disk()).start()
        cli = Cli(server)
        try:
            onboarding = cli.start("onboard")
            claim_url, _ = read_until(onboarding.stderr, r"http://127\.0\.0\.1:\d+/claim\?token=\S+")
            claimed = person("claim", claim_url, "chromium@example.com", "chromium's own passphrase")
            self.assertEqual(claimed["page"], "/")
            stdout, stderr = onboarding.communicate(timeout=120)
            self.assertEqual(onboarding.returncode, 0, stderr)
            agent = json.loads(stdout)["agent"]
            self.assertIn(agent, claimed["agents"])

            started = cli.json("login", "openai")
            entered = person("input", started["auth_url"], "chromium@example.com", "chromium's own passphrase", OPENAI_KEY)
            self.assertEqual((entered["page"], entered["heading"]), ("/auth/success", "Connected"))
            lookup = cli.python_script("proxy_lookup.py", "api.openai.com", "/v1/models")
            self.assertEqual(lookup["headers"], {"Authorization": f"Bearer {OPENAI_KEY}"})
        finally:
            cli.cleanup()
            server.stop()

    def test_an_oauth_login_from_the_input_page_to_the_provider_and_back_in_chromium(self) -> None:
        server = Server(Backends.sqlite_disk()).start()
        authorization_server = AuthorizationServer([server.base_url + "/api/auth/callback/oauth"])
        cli = Cli(server)
        email, password = "chromium-oauth@example.com", "chromium's OAuth passphrase"
        try:
            onboarding = cli.start("onboard")
            claim_url, _ = read_until(onboarding.stderr, r"http://127\.0\.0\.1:\d+/claim\?token=\S+")
            self.assertEqual(person("claim", claim_url, email, password)["page"], "/")
            self.assertEqual(onboarding.wait(timeout=120), 0)
            # The same person's second agent registers the provider (the CLI refuses 127.0.0.1).
            admin = Agent()
            same_person = Browser(server.base_url)
            self.assertEqual(same_person.sign_in(email, password).status_code, 303)
            self.assertEqual(same_person.confirm_claim(admin.register(server.base_url)).status_code, 303)
            definition = authorization_server.definition("chromium-oidc", "pkce")
            registered = admin.call(server.base_url, "POST", "/api/providers", {"definition": definition})
            self.assertEqual(registered.status_code, 200, registered.text)

            started = cli.json("login", "chromium-oidc")
            self.assertIn("/auth/input?session=", started["auth_url"])
            finished = person("oauth", started["auth_url"], email, password, "authsome-pkce:pkce-client-secret")
            self.assertEqual((finished["page"], finished["heading"]), ("/auth/success", "Connected"))
            lookup = cli.python_script("proxy_lookup.py", "api.chromium-oidc.example", "/v1/things")
            token = lookup["headers"]["Authorization"].removeprefix("Bearer ")
            self.assertTrue(authorization_server.introspect(token)["active"])
        finally:
            authorization_server.stop()
            cli.cleanup()
            server.stop()


if __name__ == "__main__":
    unittest.main()
