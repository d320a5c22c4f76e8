"""Black-box harness: runs authsome-rs as a process, authsome 0.7.2's real CLI against it, and
a form-filling browser (httpx with a cookie jar) for the human steps.

Run with the reference venv's Python (it has the CLI and httpx). Needs AUTHSOME_RS_BIN (the
`authsome` binary of authsome-rs) and AUTHSOME_REFERENCE_VENV; the Postgres + Redis suite
also needs AUTHSOME_TEST_DATABASE_URL and AUTHSOME_TEST_REDIS_URL. Missing ones fail loudly.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent

# Test clients are dropped without closing their pooled sockets; that is noise, not a finding.
warnings.filterwarnings("ignore", category=ResourceWarning)


def required_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} must be set for the reference-CLI tests (see scripts/test)")
    return value


def free_port() -> int:
    # Never 7998: the CLI "manages" (restarts) a daemon on its default address.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Backends:
    """Environment selecting the server's backends, and how to clean them up."""

    name: str
    env: dict[str, str]
    cleanup: list[list[str]] = field(default_factory=list)

    @staticmethod
    def sqlite_disk() -> "Backends":
        return Backends("sqlite+disk", {})

    @staticmethod
    def postgres_redis(redis_url: str | None = None, database_url: str | None = None) -> "Backends":
        """A fresh database on the test Postgres (or the server at `database_url`), and the
        test Redis (or `redis_url`)."""
        database_url = database_url or required_env("AUTHSOME_TEST_DATABASE_URL")
        redis_url = redis_url or required_env("AUTHSOME_TEST_REDIS_URL")
        suffix = secrets.token_hex(6)
        database = f"authsome_cli_{suffix}"
        subprocess.run(["psql", database_url, "-q", "-c", f"CREATE DATABASE {database}"], check=True)
        parts = urllib.parse.urlsplit(database_url)
        own_url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))
        prefix = f"authsome-cli-{suffix}:"
        return Backends(
            "postgres+redis",
            {
                "AUTHSOME_DATABASE_URL": own_url,
                "AUTHSOME_REDIS_URL": redis_url,
                "AUTHSOME_REDIS_KEY_PREFIX": prefix,
                "AUTHSOME_VAULT_BACKEND": "redis",
            },
            cleanup=[
                ["psql", database_url, "-q", "-c", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"],
                ["redis-cli", "-u", redis_url, "--no-raw", "EVAL",
                 "for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1", "0", prefix + "*"],
            ],
        )

    def clean(self) -> None:
        for command in self.cleanup:
            subprocess.run(command, check=False, capture_output=True)


class PrivateRedis:
    """A Redis server of the test's own, writing every command to its append-only file, so
    that it can be killed and started again with nothing lost (as a crashed Redis that comes
    back), without touching the Redis other tests share."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="authsome-redis-"))
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> "PrivateRedis":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
                return self
            time.sleep(0.05)
        raise RuntimeError("the private Redis did not start")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivatePostgres:
    """A Postgres cluster of the test's own (initdb in a temporary folder), which the test
    stops and starts without touching the Postgres other tests share. Postgres refuses to run
    as root, so under root it runs as Debian's `postgres` user."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            raise RuntimeError("initdb not found under /usr/lib/postgresql (Debian package postgresql)")
        self.bin = bins[-1].parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="authsome-postgres-"))
        self.data = self.dir / "data"
        self.url = f"postgres://root@127.0.0.1:{self.port}/postgres"
        self.as_user = []
        if os.geteuid() == 0:
            # runuser lives in /usr/sbin, which a minimal PATH may leave out.
            runuser = shutil.which("runuser") or next(
                (path for path in ("/usr/sbin/runuser", "/sbin/runuser") if os.path.exists(path)), None)
            if runuser is None:
                raise RuntimeError("runuser not found (Debian package util-linux): Postgres refuses to run as root")
            self.as_user = [runuser, "-u", "postgres", "--"]
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "root", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run([*self.as_user, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stdout}{result.stderr}")

    def start(self) -> "PrivatePostgres":
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "postgres.log"), "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session, as a restart does; `immediate` is a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


class Server:
    """An authsome-rs process on a free port."""

    def __init__(self, backends: Backends, extra_env: dict[str, str] | None = None, owns_backends: bool = True) -> None:
        self.binary = required_env("AUTHSOME_RS_BIN")
        self.backends = backends
        self.workdir = Path(tempfile.mkdtemp(prefix="authsome-rs-server-"))
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "server.log"
        # The process's working directory: empty, so a stray relative write would show.
        self.cwd = self.workdir / "cwd"
        self.cwd.mkdir()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "AUTHSOME_HOME": str(self.workdir / "home"),
            "AUTHSOME_HOST": "127.0.0.1",
            "AUTHSOME_PORT": str(self.port),
            "AUTHSOME_MASTER_KEY": secrets.token_urlsafe(32),
            "AUTHSOME_LOG": "info",
            **backends.env,
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None
        self.owns_backends = owns_backends

    def start(self) -> "Server":
        self._log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [self.binary, "serve"], env=self.env, stdout=self._log_file, stderr=subprocess.STDOUT, cwd=self.cwd
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"authsome-rs exited at startup:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"authsome-rs did not become healthy:\n{self.log()}")

    def command(self, *args: str) -> subprocess.CompletedProcess:
        """Runs another `authsome` subcommand with this server's environment."""
        return subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True, timeout=120, cwd=self.cwd)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, as when a machine dies."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if getattr(self, "_log_file", None):
            self._log_file.close()
        if self.owns_backends:
            self.backends.clean()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Cli:
    """authsome 0.7.2's CLI with its own home, pointed at `server`."""

    def __init__(self, server: Server) -> None:
        venv = Path(required_env("AUTHSOME_REFERENCE_VENV"))
        self.executable = venv / "bin" / "authsome"
        self.python = venv / "bin" / "python"
        self.home = Path(tempfile.mkdtemp(prefix="authsome-cli-home-"))
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "AUTHSOME_HOME": str(self.home / "authsome"),
            "AUTHSOME_BASE_URL": server.base_url,
            # Python's webbrowser runs this instead of opening a window.
            "BROWSER": "true",
        }

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.executable), *args], env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout,
            cwd=self.home,
        )

    def run_in_desktop_session(self, *args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
        """Runs the CLI under a D-Bus session bus of its own, as on a desktop: browser-cookie3,
        which reads cookies for the CLI's browser-cookie logins, fails without one (it asks
        the secret service for Chrome's key; Debian's gnome-keyring answers)."""
        if not shutil.which("dbus-run-session"):
            raise RuntimeError("dbus-run-session not found (Debian package `dbus`)")
        return subprocess.run(
            ["dbus-run-session", "--", str(self.executable), *args], env={**self.env, **(env or {})},
            capture_output=True, text=True, timeout=timeout, cwd=self.home,
        )

    def json(self, *args: str, env: dict[str, str] | None = None) -> dict:
        result = self.run(*args, env=env)
        if result.returncode != 0:
            raise AssertionError(f"authsome {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return json.loads(result.stdout)

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            [str(self.executable), *args], env={**self.env, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=self.home,
        )

    def python_script(self, script: str, *args: str) -> dict:
        result = subprocess.run(
            [str(self.python), str(HERE / script), *args], env=self.env, capture_output=True, text=True, timeout=120, cwd=self.home
        )
        if result.returncode != 0:
            raise AssertionError(f"{script} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return json.loads(result.stdout)

    def cleanup(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def read_until(stream, pattern: str, timeout: float = 60) -> tuple[str, str]:
    """Reads lines from `stream` until one matches `pattern`; returns (match, everything read)."""
    seen = []
    deadline = time.monotonic() + timeout
    regex = re.compile(pattern)
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        found = regex.search(line)
        if found:
            return found.group(0), "".join(seen)
    raise AssertionError(f"never saw /{pattern}/ in:\n{''.join(seen)}")


class Browser:
    """A person with a browser: follows links, reads forms' hidden fields, posts them."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30, headers={"Accept": "text/html"})

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def follow(self, path: str, limit: int = 10) -> httpx.Response:
        response = self.client.get(path)
        for _ in range(limit):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            response = self.client.get(response.headers["location"])
        raise AssertionError("too many redirects")

    @staticmethod
    def hidden_field(html: str, name: str) -> str:
        found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
        if not found:
            raise AssertionError(f"no hidden field {name!r} in page:\n{html[:2000]}")
        return found.group(1)

    @staticmethod
    def form_action(html: str, starts_with: str) -> str:
        found = re.search(rf'action="({re.escape(starts_with)}[^"]*)"', html)
        if not found:
            raise AssertionError(f"no form posting to {starts_with!r} in page:\n{html[:2000]}")
        return found.group(1).replace("&amp;", "&")

    def post_form(self, action: str, fields: dict[str, str]) -> httpx.Response:
        return self.client.post(action, data=fields)

    def sign_up(self, email: str, password: str, next_path: str = "/", setup: str | None = None) -> httpx.Response:
        query = {"next": next_path, "tab": "register"}
        if setup:
            query["setup"] = setup
        page = self.get("/login?" + urllib.parse.urlencode(query)).text
        fields = {
            "email": email,
            "password": password,
            "next": self.hidden_field(page, "next"),
            "csrf_token": self.hidden_field(page, "csrf_token"),
            "setup_token": setup or "",
        }
        return self.post_form("/api/auth/register", fields)

    def sign_in(self, email: str, password: str, next_path: str = "/") -> httpx.Response:
        page = self.get("/login?" + urllib.parse.urlencode({"next": next_path})).text
        return self.post_form(
            "/api/auth/login",
            {"email": email, "password": password, "next": next_path, "csrf_token": self.hidden_field(page, "csrf_token")},
        )

    def confirm_claim(self, claim_url: str) -> httpx.Response:
        page = self.follow(claim_url.replace(self.base_url, ""))
        action = self.form_action(page.text, "/api/claim/")
        return self.post_form(action, {"csrf_token": self.hidden_field(page.text, "csrf_token")})

    def fill_input(self, input_url: str, fields: dict[str, str]) -> httpx.Response:
        page = self.follow(input_url.replace(self.base_url, ""))
        action = self.form_action(page.text, "/auth/input")
        return self.post_form(action, {**fields, "csrf_token": self.hidden_field(page.text, "csrf_token")})


OAUTH_DIR = HERE.parent / "oauth"


class AuthorizationServer:
    """A real authorization server (node-oidc-provider, tests/oauth/authorization-server.mjs)
    whose static clients may send people back to `redirect_uris`."""

    def __init__(self, redirect_uris: list[str], access_token_ttl: int = 3600) -> None:
        if not (OAUTH_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError("oidc-provider is not installed: run `npm ci` in tests/oauth (scripts/test does)")
        self.process = subprocess.Popen(
            ["node", str(OAUTH_DIR / "authorization-server.mjs")],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORT": "0", "REDIRECT_URIS": ",".join(redirect_uris),
                 "ACCESS_TOKEN_TTL": str(access_token_ttl)},
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the authorization server did not start (is node installed?)")
        self.issuer = json.loads(line)["issuer"]

    def definition(self, name: str, flow: str) -> dict:
        """A custom provider definition for this server; `prompt=consent` makes it issue
        refresh tokens. DCR definitions find the registration endpoint by discovery."""
        issuer = self.issuer
        dcr = flow == "dcr_pkce"
        return {
            "name": name,
            "display_name": f"Test OIDC ({flow})",
            "auth_type": "oauth2",
            "flow": flow,
            "oauth": {
                "authorization_url": f"{issuer}/auth",
                "token_url": f"{issuer}/token",
                "revocation_url": f"{issuer}/token/revocation",
                "device_authorization_url": f"{issuer}/device/auth",
                "scopes": ["openid", "offline_access"] if dcr else ["openid", "offline_access", "api:read"],
                "authorization_params": {"prompt": "consent"},
                "supports_device_code": True,
                "supports_dcr": dcr,
            },
            "api_url": f"api.{name}.example",
        }

    def introspect(self, token: str) -> dict:
        """What the server says about `token`, asked as a resource server would."""
        response = httpx.post(
            f"{self.issuer}/token/introspection", data={"token": token},
            auth=("resource-server", "resource-server-secret"), timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def token_requests(self, grant_type: str) -> tuple[int, int]:
        """The token endpoint's answers so far for `grant_type`: (successes, errors)."""
        counts = httpx.get(f"{self.issuer}/_test/token-requests", timeout=30).json().get(grant_type, {})
        return counts.get("success", 0), counts.get("error", 0)

    def hold_next_token_request(self, ms: int) -> None:
        """Holds the next token request `ms` before the server sees it; dropped unseen if its
        client goes away meanwhile."""
        httpx.post(f"{self.issuer}/_test/hold-next-token-request?ms={ms}", timeout=30).raise_for_status()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


PERSON = OAUTH_DIR / "person.py"


def connect_with_pkce(agent, api_url: str, public_url: str, authorization_server: AuthorizationServer,
                      ui_session: str, provider: str) -> None:
    """The agent (an admin's) registers `provider` at `authorization_server`, configures its
    `authsome-pkce` client and logs in through `api_url`; the person (signed in with
    `ui_session`) consents and comes back to `public_url`."""
    def ok(response: httpx.Response) -> httpx.Response:
        if response.status_code != 200:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
        return response

    ok(agent.call(api_url, "POST", "/api/providers", {"definition": authorization_server.definition(provider, "pkce")}))
    ok(agent.call(api_url, "PUT", f"/api/providers/{provider}/configuration",
                  {"client_id": "authsome-pkce", "client_secret": "pkce-client-secret",
                   "scopes": ["openid", "offline_access", "api:read"]}))
    started = ok(agent.call(api_url, "POST", "/api/auth/sessions",
                            {"base_url": None, "connection": "default", "flow": None, "force": False,
                             "provider": provider, "scopes": None}))
    walked = subprocess.run(
        ["python3", str(PERSON), started.json()["next_action"]["url"]],
        env={"PATH": "/usr/bin:/bin", "PERSON_COOKIE": f"authsome_ui_session={ui_session}",
             "PERSON_COOKIE_ORIGIN": public_url},
        capture_output=True, text=True, timeout=120,
    )
    if walked.returncode != 0:
        raise RuntimeError(f"the person could not log in: {walked.stderr}")
