"""Every dashboard screen, walked in a real browser as people would use them.

Headless Chromium (Debian's package, driven by playwright-core from tests/browser, with
JavaScript off) runs tests/browser/dashboard-walkthrough.mjs: a person signs up from the claim
link `authsome onboard` prints and claims the agent; connects OpenAI twice from the catalog
(API-key form); as the admin registers a custom OAuth provider (a refused definition first,
shown on the form), configures its client and connects it at a real authorization server
(node-oidc-provider); connects a device-code provider through the device page, which notices
the approval by itself; reveals a secret, sets a default and makes it global; pages the audit
log ten at a time; invites a second person, who signs up from the link and is refused the
admin's secrets. Afterwards the agent, through the 0.7.2 CLI, resolves what the person
connected in the browser.

Each screen is saved as a PNG: into AUTHSOME_DASHBOARD_SCREENSHOTS when set (how the pictures
in docs/guides/dashboard.md are made: `scripts/dashboard-screenshots`), a temporary folder
otherwise.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import AuthorizationServer, Backends, Cli, Server, read_until

BROWSER_DIR = Path(__file__).resolve().parent.parent / "browser"
OPENAI_KEY = "sk-proj-" + "dashboard1" * 4
SCREENS = [
    "01-claim", "02-home", "03-agents", "04-agent", "05-providers", "06-api-key", "08-provider-form",
    "09-provider", "10-device", "11-connections", "12-connection", "13-audit", "14-settings",
    "15-refused", "16-home-phone",
]


def walk(plan: dict) -> dict:
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        raise RuntimeError("run `npm ci` in tests/browser first (scripts/test does)")
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not shutil.which(chromium):
        raise RuntimeError(f"Chromium not found at {chromium} (Debian package `chromium`)")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(plan, file)
    try:
        result = subprocess.run(
            ["node", "dashboard-walkthrough.mjs", file.name], cwd=BROWSER_DIR, capture_output=True, text=True,
            timeout=300,
        )
    finally:
        os.unlink(file.name)
    if result.returncode != 0:
        raise AssertionError(
            f"the walkthrough stopped (see {plan['screenshots']}/walkthrough-failure.png): {result.stderr}\n{result.stdout}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


class EveryDashboardScreenInChromium(unittest.TestCase):
    def test_people_walk_every_screen(self) -> None:
        screenshots = Path(os.environ.get("AUTHSOME_DASHBOARD_SCREENSHOTS") or tempfile.mkdtemp(prefix="authsome-screens-"))
        screenshots.mkdir(parents=True, exist_ok=True)
        server = Server(Backends.sqlite_disk()).start()
        authorization_server = AuthorizationServer([server.base_url + "/api/auth/callback/oauth"])
        cli = Cli(server)
        try:
            onboarding = cli.start("onboard")
            claim_url, _ = read_until(onboarding.stderr, r"http://127\.0\.0\.1:\d+/claim\?token=\S+")
            oauth = authorization_server.definition("walkthrough-oidc", "pkce")
            device = authorization_server.definition("walkthrough-device", "device_code")
            device["display_name"] = "Test OIDC (device code)"
            seen = walk({
                "claim_url": claim_url,
                "email": "owner@example.com",
                "password": "the owner's own passphrase",
                "openai_key": OPENAI_KEY,
                "oauth": {"definition": oauth, "client_id": "authsome-pkce", "client_secret": "pkce-client-secret"},
                "device": {"definition": device, "client_id": "authsome-device", "client_secret": "device-client-secret"},
                "second": {"email": "second@example.com", "password": "the second person's passphrase"},
                "screenshots": str(screenshots),
            })
            stdout, stderr = onboarding.communicate(timeout=120)
            self.assertEqual(onboarding.returncode, 0, stderr)
            agent = json.loads(stdout)["agent"]

            # Claimed, and shown on the home page and the agent's page.
            self.assertIn(agent, seen["home_agents"])
            self.assertIn("did:key:z", seen["agent_detail"])
            self.assertIn("owner@example.com", seen["agent_detail"])
            # The catalog filtered to one provider; a refused definition stayed on its form.
            self.assertEqual(seen["catalog_rows"], 1)
            self.assertIn("unknown variant `carrier_pigeon`", seen["definition_error"])
            self.assertTrue(seen["definition_kept"], "what was typed came back")
            self.assertTrue(seen["callback_shown"], "the callback URL to register at the provider")
            self.assertIn("saved", seen["client_saved"])
            self.assertRegex(seen["user_code"], r"\w{4}")
            # The owner reveals their own secret; default and global are set.
            self.assertEqual(seen["revealed"], OPENAI_KEY + "-work")
            self.assertIn("default", seen["default_flash"])
            self.assertIn("fallback", seen["global_flash"])
            self.assertIn("default", seen["connection_detail"])
            self.assertIn("global", seen["connection_detail"])
            # The audit log, a page of ten, an older page, back; the event filter.
            self.assertEqual(seen["audit_first_page"], 10)
            self.assertGreater(seen["audit_second_page"], 0)
            self.assertTrue(seen["audit_pages_differ"] and seen["audit_back_to_newest"])
            self.assertEqual(set(seen["audit_logins"]), {"provider.login"})
            self.assertGreaterEqual(len(seen["audit_logins"]), 4, "four logins: two API keys, OAuth, device")
            # The invited person signed up as a user, sees the global connection's name, and is
            # refused the admin's connection page and a forged reveal of it.
            self.assertTrue(seen["invitation_is_sign_up_link"])
            self.assertIn("user", seen["second_role"])
            self.assertIn("work", seen["second_connections"])
            self.assertIn(seen["refused_status"], (403, 404))
            self.assertNotIn(OPENAI_KEY, seen["refused_page"])
            self.assertIn(seen["forged_reveal_status"], (403, 404))
            self.assertFalse(seen["forged_reveal_leaks"])
            for screen in SCREENS:
                picture = screenshots / f"{screen}.png"
                self.assertTrue(picture.is_file() and picture.read_bytes()[:4] == b"\x89PNG", screen)

            # What the person connected in the browser is what the agent gets.
            lookup = cli.python_script("proxy_lookup.py", "api.openai.com", "/v1/models")
            self.assertEqual(lookup["headers"], {"Authorization": f"Bearer {OPENAI_KEY}-work"}, "the new default")
            for provider in ("walkthrough-oidc", "walkthrough-device"):
                lookup = cli.python_script("proxy_lookup.py", f"api.{provider}.example", "/v1/things")
                token = lookup["headers"]["Authorization"].removeprefix("Bearer ")
                self.assertTrue(authorization_server.introspect(token)["active"], provider)
        finally:
            authorization_server.stop()
            cli.cleanup()
            server.stop()


if __name__ == "__main__":
    unittest.main()
