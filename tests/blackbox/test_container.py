"""The container image, run as an operator would: production settings from the environment,
the host's Postgres and Redis, a read-only root filesystem and one volume. Checks health,
readiness, a full proof-of-possession round trip, the non-root user, the image's HEALTHCHECK,
and that nothing was written outside the volume.

Run by scripts/container-smoke.sh (which builds the image); needs AUTHSOME_CONTAINER_IMAGE,
AUTHSOME_TEST_DATABASE_URL and AUTHSOME_TEST_REDIS_URL.
"""

import secrets
import subprocess
import time
import unittest

import httpx

from agent import Agent
from harness import Backends, Browser, free_port, required_env


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


class ContainerImage(unittest.TestCase):
    def test_the_image_serves_production_traffic_as_a_non_root_user(self) -> None:
        image = required_env("AUTHSOME_CONTAINER_IMAGE")
        backends = Backends.postgres_redis()
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        name = f"authsome-smoke-{secrets.token_hex(4)}"
        volume = f"{name}-data"
        env = {
            **backends.env,
            "AUTHSOME_ENV": "prod",
            "AUTHSOME_MASTER_KEY": secrets.token_urlsafe(32),
            "AUTHSOME_PORT": str(port),
            "AUTHSOME_BASE_URL": base_url,
        }
        env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        common = ["--network=host", "--read-only", "--read-only-tmpfs=false", "-v", f"{volume}:/var/lib/authsome", *env_args]
        podman("volume", "create", volume)
        try:
            init = podman("run", "--rm", *common, image, "init", "--admin-email", "ops@example.com")
            setup = init.stdout.split("setup=")[1].split()[0]

            started = time.monotonic()
            podman("run", "-d", "--name", name, *common, image)
            while True:
                try:
                    if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() - started > 60:
                    raise AssertionError("no /health within 60 s:\n" + podman("logs", name, check=False).stderr)
                time.sleep(0.05)
            startup = time.monotonic() - started

            health = httpx.get(f"{base_url}/health", timeout=5).json()
            self.assertEqual((health["status"], health["store_backend"], health["vault_backend"]), ("ok", "postgres", "redis"))

            admin = Browser(base_url)
            self.assertEqual(admin.sign_up("ops@example.com", "the operator's password", setup=setup).headers["location"], "/")
            agent = Agent()
            self.assertEqual(admin.confirm_claim(agent.register(base_url)).status_code, 303)
            ready = agent.call(base_url, "GET", "/api/ready").json()
            self.assertEqual(ready["status"], "ready", ready)
            stored = agent.store_api_key(base_url, "openai", "default", "sk-proj-container000000000000001").json()
            self.assertEqual(stored["status"], "completed")
            resolved = agent.call(base_url, "POST", "/api/credentials/resolve", {"connection": None, "provider": "openai"})
            self.assertEqual(resolved.json()["headers"], {"Authorization": "Bearer sk-proj-container000000000000001"})
            replay_proof = agent.proof("GET", "/api/whoami", b"")
            self.assertEqual(agent.send(base_url, "GET", "/api/whoami", b"", replay_proof).status_code, 200)
            self.assertEqual(agent.send(base_url, "GET", "/api/whoami", b"", replay_proof).status_code, 401)

            self.assertEqual(podman("exec", name, "/usr/local/bin/authsome", "healthcheck").returncode, 0)
            self.assertEqual(podman("healthcheck", "run", name, check=False).returncode, 0, "the image's HEALTHCHECK passes")
            uid = podman("top", name, "huser").stdout.split()[-1]
            self.assertEqual(uid, "10001", "the server runs as the unprivileged user")
            self.assertEqual(podman("inspect", "--format", "{{.Config.User}}", name).stdout.strip(), "10001:10001")
            # The root filesystem is read-only, so the server cannot write outside the volume;
            # podman's diff also lists the files podman itself mounts into /etc and /run.
            managed = {"/etc", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run", "/run/.containerenv", "/run/secrets"}
            changes = [line for line in podman("diff", name).stdout.splitlines() if line.split(maxsplit=1)[-1] not in managed]
            self.assertEqual(changes, [], f"nothing may be written outside the volume: {changes}")
            logs = podman("logs", name, check=False)
            self.assertNotIn(env["AUTHSOME_MASTER_KEY"], logs.stdout + logs.stderr)
            self.assertIn('"message":"request"', logs.stderr, "JSON request logs")

            podman("stop", "-t", "30", name)
            exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
            self.assertEqual(exit_code, "0", "SIGTERM stops the server cleanly")
            print(f"\n  container startup to healthy: {startup:.2f} s")
        finally:
            podman("rm", "-f", name, check=False)
            podman("volume", "rm", "-f", volume, check=False)
            backends.clean()


if __name__ == "__main__":
    unittest.main()
