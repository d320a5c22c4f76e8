"""Taking over a real authsome 0.7.2 local home with `authsome import-home`.

The real 0.7.2 daemon (SQLite registry + diskcache vault, its master secret in the key file it
generated) serves a home in which its real CLI onboards an agent (claimed in the browser, two
keys imported from the environment, one of them 40 KB so that diskcache keeps it in a file of
its own), sets a global connection and registers a custom provider. Then the daemon stops and
authsome-rs imports that home, once into a new home and once in place, and the same CLI, with
the same identity key, talks to authsome-rs: the same agent, person and vault, every key
resolved as it was stored, the custom provider listed, the old audit log kept. The 0.7.2 home
is unchanged byte for byte, and a second import changes nothing.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import httpx

from harness import Backends, Cli, Server, free_port, read_until, required_env

OPENAI_KEY = "sk-proj-" + "i7m9" * 10
# Past diskcache's 32 KiB inline limit once encrypted and framed: stored in a value file.
ANTHROPIC_KEY = "sk-ant-api03-" + "Lq8" * 13_500
CUSTOM_PROVIDER = {
    "schema_version": 1,
    "name": "acme-import",
    "display_name": "Acme Import",
    "auth_type": "api_key",
    "flow": "api_key",
    "api_key": {"header_name": "X-Api-Key", "header_prefix": None, "env_var": "ACME_IMPORT_KEY"},
    "api_url": ["api.acme-import.example"],
    "docs_url": "https://docs.acme-import.example",
}


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


class ReferenceHome:
    """A home written by the real authsome 0.7.2 daemon and CLI, with the daemon stopped."""

    def __init__(self) -> None:
        venv = Path(required_env("AUTHSOME_REFERENCE_VENV"))
        self.root = Path(tempfile.mkdtemp(prefix="authsome-0.7.2-home-"))
        self.server_home = self.root / "server-home"
        self.cli_home = self.root / "cli-home"
        self.authsome = str(venv / "bin" / "authsome")
        self.port = port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root), "BROWSER": "true"}
        # No keyring: 0.7.2 generates its master secret into server/master.key, as on a
        # machine without a desktop session.
        self.daemon = subprocess.Popen(
            [self.authsome, "daemon", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={**base_env, "AUTHSOME_HOME": str(self.server_home), "AUTHSOME_BASE_URL": self.base_url,
                 "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.cli_env = {**base_env, "AUTHSOME_HOME": str(self.cli_home), "AUTHSOME_BASE_URL": self.base_url}
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.base_url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.daemon.poll() is not None:
                raise RuntimeError("the authsome 0.7.2 daemon did not start")
            time.sleep(0.2)

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        full_env = {**self.cli_env, **(env or {})}
        return subprocess.run([self.authsome, *args], env=full_env, capture_output=True, text=True, timeout=120,
                              cwd=self.root)

    def cli_json(self, *args: str) -> dict:
        result = self.cli(*args)
        if result.returncode != 0:
            raise AssertionError(f"authsome {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return json.loads(result.stdout)

    def populate(self) -> dict:
        """Onboards, claims, imports the keys, adds a global connection and a custom provider;
        returns what 0.7.2 itself reports."""
        onboard = subprocess.Popen(
            [self.authsome, "onboard", "--base-url", self.base_url],
            env={**self.cli_env, "OPENAI_API_KEY": OPENAI_KEY, "ANTHROPIC_API_KEY": ANTHROPIC_KEY},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=self.root,
        )
        try:
            claim_url, _ = read_until(onboard.stderr, r"http://127\.0\.0\.1:\d+/claim\?token=\S+")
            token = claim_url.split("token=")[1]
            # 0.7.2's own sign-up and claim endpoints, as its dashboard calls them.
            browser = httpx.Client(base_url=self.base_url, timeout=30)
            signed_up = browser.post("/api/auth/register", data={
                "email": "owner@example.com", "password": "correct-horse-battery", "next": f"/claim?token={token}"})
            assert signed_up.status_code in (200, 303), signed_up.text
            confirmed = browser.post(f"/api/claim/{token}/confirm")
            assert confirmed.status_code in (200, 303), confirmed.text
            stdout, stderr = onboard.communicate(timeout=120)
        finally:
            if onboard.poll() is None:
                onboard.kill()
        assert onboard.returncode == 0, stderr
        assert json.loads(stdout)["imported_count"] == 2, stdout
        assert self.cli("connections", "set-global", "openai", "default").returncode == 0
        definition = self.root / "custom.json"
        definition.write_text(json.dumps(CUSTOM_PROVIDER))
        registered = self.cli("provider", "register", str(definition), "--yes")
        assert registered.returncode == 0, registered.stderr
        return {"whoami": self.cli_json("whoami"), "log": self.cli_json("log")}

    def stop_daemon(self) -> None:
        self.daemon.terminate()
        self.daemon.wait(timeout=30)

    def cleanup(self) -> None:
        if self.daemon.poll() is None:
            self.daemon.kill()
        shutil.rmtree(self.root, ignore_errors=True)


class ImportHomeTest(unittest.TestCase):
    reference: ReferenceHome
    reported: dict

    @classmethod
    def setUpClass(cls) -> None:
        cls.reference = ReferenceHome()
        try:
            cls.reported = cls.reference.populate()
        finally:
            cls.reference.stop_daemon()
        kv_store = cls.reference.server_home / "server" / "kv_store"
        assert any(kv_store.rglob("*.val")), "the 40 KB key should be in a diskcache value file"
        cls.digest = tree_digest(cls.reference.server_home)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.reference.cleanup()

    def server_for(self, home: Path) -> Server:
        server = Server(Backends.sqlite_disk(), extra_env={"AUTHSOME_HOME": str(home), "AUTHSOME_KEYRING": "off"})
        # The person taking over has no AUTHSOME_MASTER_KEY: 0.7.2 kept its secret in its key file.
        del server.env["AUTHSOME_MASTER_KEY"]
        # authsome-rs takes 0.7.2's place on its address: the CLI's config (daemon_base_url,
        # written by onboard) stays as it is.
        server.port, server.base_url = self.reference.port, self.reference.base_url
        server.env["AUTHSOME_PORT"] = str(self.reference.port)
        self.addCleanup(server.stop)
        return server

    def import_home(self, server: Server, source: Path) -> str:
        result = server.command("import-home", str(source))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout

    def assert_serves_what_0_7_2_served(self, server: Server) -> None:
        server.start()
        before = self.reported["whoami"]
        after = self.reference.cli_json("whoami")
        for field in ("agent", "did", "principal_id", "vault_id"):
            self.assertEqual(after[field], before[field], field)
        self.assertEqual(after["vault_status"], "OK")
        self.assertEqual(sorted(p["name"] for p in after["connected_providers"]), ["anthropic", "openai"])

        cli = Cli(server)
        shutil.rmtree(cli.home, ignore_errors=True)
        cli.home, cli.env = self.reference.root, self.reference.cli_env
        openai = cli.python_script("proxy_lookup.py", "api.openai.com", "/v1/chat/completions")
        self.assertEqual(openai["headers"], {"Authorization": f"Bearer {OPENAI_KEY}"})
        anthropic = cli.python_script("proxy_lookup.py", "api.anthropic.com", "/v1/messages")
        self.assertEqual(anthropic["headers"], {"x-api-key": ANTHROPIC_KEY})

        providers = self.reference.cli_json("provider", "list")
        self.assertIn("acme-import", [p["name"] for p in providers["custom"]])
        old_events = [e["event_id"] for e in self.reported["log"]["entries"]]
        now_listed = [e["event_id"] for e in self.reference.cli_json("log")["entries"]]
        self.assertTrue(set(old_events) <= set(now_listed), (old_events, now_listed))
        self.assertEqual(tree_digest(self.reference.server_home), self.digest, "the 0.7.2 home was modified")

    def test_into_a_new_home_then_again_changes_nothing(self) -> None:
        home = Path(tempfile.mkdtemp(prefix="authsome-rs-imported-"))
        self.addCleanup(shutil.rmtree, home, True)
        server = self.server_for(home)
        first = self.import_home(server, self.reference.server_home)
        self.assertIn("registry identity_registrations: 1 row(s): 1 copied, 0 already here", first)
        self.assertIn("registry custom_provider_definitions: 1 row(s): 1 copied", first)
        self.assertIn("registry global_provider_connections: 1 row(s): 1 copied", first)
        vault_id = self.reported["whoami"]["vault_id"]
        self.assertRegex(first, rf"vault vault:{vault_id} -> disk vault .*: [1-9]\d* imported, 0 unchanged, 0 kept, 0 failed")
        self.assertIn("unwrapped with the secret from key file", first)

        again = self.import_home(server, self.reference.server_home)
        self.assertIn("registry: 0 row(s) copied", again)
        self.assertRegex(again, r"vault: 1 collection\(s\), 0 value\(s\) imported, [1-9]\d* unchanged, 0 kept, 0 failed")
        self.assertEqual([p.name for p in (home / "server").iterdir() if p.name.startswith(".import")], [],
                         "the scratch copies were left behind")
        self.assert_serves_what_0_7_2_served(server)

    def test_in_place_when_the_home_is_the_0_7_2_home(self) -> None:
        home = Path(tempfile.mkdtemp(prefix="authsome-rs-in-place-")) / "home"
        shutil.copytree(self.reference.server_home, home)
        self.addCleanup(shutil.rmtree, home.parent, True)
        server = self.server_for(home)
        report = self.import_home(server, home)
        self.assertIn("is this server's database: adopted in place", report)
        self.assertRegex(report, r"[1-9]\d* value\(s\) imported, 0 unchanged, 0 kept, 0 failed")
        self.assert_serves_what_0_7_2_served(server)

    def test_what_is_not_a_0_7_2_home_is_refused_clearly(self) -> None:
        empty = Path(tempfile.mkdtemp(prefix="authsome-not-a-home-"))
        self.addCleanup(shutil.rmtree, empty, True)
        server = self.server_for(empty / "target")
        result = server.command("import-home", str(empty))
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("is not an authsome 0.7.2 home: it has no server/authsome.db", result.stderr)
        self.assertFalse((empty / "target").exists(), "a refused import created the target home")


if __name__ == "__main__":
    unittest.main()
