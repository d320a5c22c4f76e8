"""Production mode (`AUTHSOME_ENV=prod`) on Postgres + Redis: every missing piece stops
startup with a message naming the variable, and a serving replica writes no local file on any
request path (its home and HOME are paths that cannot exist, its working directory stays empty).

Needs AUTHSOME_TEST_DATABASE_URL and AUTHSOME_TEST_REDIS_URL (fails loudly without them).
"""

import secrets
import subprocess
import unittest

import httpx

from agent import Agent
from harness import Backends, Browser, Server, required_env

UNWRITABLE = {
    # Under /dev/null nothing can be created, even by root: any local write would fail loudly.
    "AUTHSOME_HOME": "/dev/null/authsome-home",
    "HOME": "/dev/null/home",
}


class ProductionMode(unittest.TestCase):
    def test_each_missing_piece_stops_startup_and_names_the_variable(self) -> None:
        binary = required_env("AUTHSOME_RS_BIN")
        database = required_env("AUTHSOME_TEST_DATABASE_URL")
        redis = required_env("AUTHSOME_TEST_REDIS_URL")
        base = {"PATH": "/usr/bin:/bin", **UNWRITABLE, "AUTHSOME_ENV": "prod", "AUTHSOME_KEYRING": "off"}
        cases = [
            ({}, 2, "AUTHSOME_DATABASE_URL: is required when AUTHSOME_ENV=prod"),
            ({"AUTHSOME_DATABASE_URL": "sqlite:///tmp/x.db"}, 2, "AUTHSOME_DATABASE_URL: must be a Postgres URL"),
            ({"AUTHSOME_DATABASE_URL": database}, 2, "AUTHSOME_REDIS_URL: is required when AUTHSOME_ENV=prod"),
            ({"AUTHSOME_DATABASE_URL": database, "AUTHSOME_REDIS_URL": redis, "AUTHSOME_VAULT_BACKEND": "memory"}, 2,
             "AUTHSOME_VAULT_BACKEND"),
            # No master secret: refused before any connection (the database here does not exist).
            ({"AUTHSOME_DATABASE_URL": "postgres://root@127.0.0.1:1/none", "AUTHSOME_REDIS_URL": redis}, 1,
             "AUTHSOME_MASTER_KEY"),
        ]
        for extra, code, message in cases:
            with self.subTest(message=message):
                result = subprocess.run([binary, "serve"], env={**base, **extra}, capture_output=True, text=True, timeout=60)
                self.assertEqual(result.returncode, code, result.stderr)
                self.assertIn(message, result.stderr)
                self.assertNotIn("Traceback", result.stderr)

    def test_a_production_replica_writes_nothing_locally(self) -> None:
        backends = Backends.postgres_redis()
        env = {**UNWRITABLE, "AUTHSOME_ENV": "prod", "AUTHSOME_MASTER_KEY": secrets.token_urlsafe(32)}
        server = Server(backends, env)
        try:
            provisioned = server.command("init", "--admin-email", "ops@example.com")
            self.assertEqual(provisioned.returncode, 0, provisioned.stderr)
            link = provisioned.stdout.split("use it once): ")[1].strip()
            server.start()
            self.assertEqual(httpx.get(f"{server.base_url}/ready", timeout=10).json()["checks"],
                             {"store": "ok", "redis": "ok", "vault": "ok"})

            # Sign-up is closed; the setup link makes the admin.
            walk_in = Browser(server.base_url)
            self.assertIn("error=", walk_in.sign_up("walkin@example.com", "a walk-in password").headers["location"])
            admin = Browser(server.base_url)
            setup = link.split("setup=")[1]
            self.assertEqual(admin.sign_up("ops@example.com", "the operator's password", setup=setup).headers["location"], "/")

            agent = Agent()
            self.assertEqual(admin.confirm_claim(agent.register(server.base_url)).status_code, 303)
            self.assertEqual(agent.call(server.base_url, "GET", "/api/whoami").json()["principal_role"], "admin")
            started = agent.call(server.base_url, "POST", "/api/auth/sessions", {"provider": "openai"}).json()
            filled = admin.fill_input(started["next_action"]["url"], {"api_key": "sk-proj-production0000000000001"})
            self.assertEqual(filled.status_code, 303, filled.text)
            resolved = agent.call(server.base_url, "POST", "/api/credentials/resolve", {"connection": None, "provider": "openai"})
            self.assertEqual(resolved.json()["headers"]["Authorization"], "Bearer sk-proj-production0000000000001")
            exported = agent.call(server.base_url, "POST", "/api/credentials/export", {"format": "json", "provider": None})
            self.assertEqual(exported.status_code, 200)
            self.assertEqual(agent.call(server.base_url, "GET", "/api/audit/events?limit=5").status_code, 200)
            self.assertEqual(agent.call(server.base_url, "POST", "/api/connections/openai/default/logout", {}).status_code, 200)
            csrf = Browser.hidden_field(admin.get("/").text, "csrf_token")
            self.assertEqual(admin.post_form("/api/logout", {"return_url": "/login", "csrf_token": csrf}).status_code, 303)
            self.assertEqual(httpx.get(f"{server.base_url}/metrics", timeout=10).status_code, 200)

            self.assertEqual(list(server.cwd.iterdir()), [], "nothing written to the working directory")
            self.assertNotIn(" 500 ", server.log())
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
