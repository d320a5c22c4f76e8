"""Schemathesis over the whole committed OpenAPI document, against a running authsome-rs.

Three passes, each generating requests for every operation from the document and checking
every response against it (no 5xx, status documented, content type and body matching the
schema):

* unauthenticated: no credentials at all;
* PoP-signed: an admin agent whose every request is signed over the exact bytes sent, by the
  shipped signer (``clients/python/authsome_pop``);
* browser session: the same admin's person, with the session cookie and the CSRF header.

At the end every operation must have been reached past authentication (answered with
something other than 401/403) in the signed or the browser pass.

Run by ``scripts/conformance.sh`` (it installs schemathesis and builds the server); needs
AUTHSOME_RS_BIN. Examples per operation: AUTHSOME_CONFORMANCE_EXAMPLES (default 25).
"""

from __future__ import annotations

import collections
import json
import os
import sys
from pathlib import Path

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "blackbox"))
sys.path.insert(0, str(ROOT / "clients" / "python"))

from authsome_pop import Identity, PopRequestsAuth, proof  # noqa: E402
from harness import Backends, Browser, Server  # noqa: E402

EXAMPLES = int(os.environ.get("AUTHSOME_CONFORMANCE_EXAMPLES", "25"))
CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance)
OPENAI_KEY = "sk-proj-conformanceconformance0123"

# Security parameters are ours to set (a signature, a cookie), not generated.
schema = schemathesis.from_path(
    str(ROOT / "openapi" / "openapi.json"),
    generation_config=schemathesis.GenerationConfig(with_security_parameters=False),
)
# (pass, operation) -> statuses seen.
SEEN: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)


class Deployment:
    """A server with an admin person, their claimed agent and one stored API key."""

    def __init__(self) -> None:
        self.server = Server(Backends.sqlite_disk(), {"AUTHSOME_LOG": "warn"}).start()
        base = self.server.base_url
        self.identity = Identity.generate("conformance-agent")
        registered = httpx.post(f"{base}/api/identities/register", json={"handle": self.identity.handle, "did": self.identity.did})
        registered.raise_for_status()
        self.browser = Browser(base)
        signed_up = self.browser.sign_up("admin@example.com", "conformance-password-1")
        assert signed_up.status_code == 303, signed_up.text
        confirmed = self.browser.confirm_claim(registered.json()["claim_url"])
        assert confirmed.status_code == 303, confirmed.text
        self.signed = requests.Session()
        self.signed.auth = PopRequestsAuth(self.identity)
        started = self.signed.post(f"{base}/api/auth/sessions", json={"provider": "openai", "connection": "default", "flow": "api_key", "force": True})
        started.raise_for_status()
        resumed = self.signed.post(f"{base}/api/auth/sessions/{started.json()['id']}/resume", json={"data": {"api_key": OPENAI_KEY}})
        resumed.raise_for_status()
        self.cookie = self.browser.client.cookies.get("authsome_ui_session")
        self.csrf = self._csrf_token()

    def _csrf_token(self) -> str:
        page = self.browser.get("/").text
        return Browser.hidden_field(page, "csrf_token")

    def browser_session(self) -> requests.Session:
        session = requests.Session()
        session.cookies.set("authsome_ui_session", self.cookie)
        session.headers["X-CSRF-Token"] = self.csrf
        return session


@pytest.fixture(scope="session")
def deployment():
    deployment = Deployment()
    yield deployment
    log = deployment.server.log()
    deployment.server.stop()
    panics = [line for line in log.splitlines() if "panicked" in line]
    assert not panics, f"the server panicked: {panics[:3]}"
    reached = {op for (name, op), statuses in SEEN.items() if name != "unauthenticated" and any(s not in (401, 403) for s in statuses)}
    every = {f"{result.ok().method.upper()} {result.ok().path}" for result in schema.get_all_operations()}
    missing = sorted(every - reached)
    summary = {f"{name} {op}": dict(statuses) for (name, op), statuses in sorted(SEEN.items())}
    Path(os.environ.get("AUTHSOME_CONFORMANCE_REPORT", "/tmp/authsome-conformance.json")).write_text(json.dumps(summary, indent=1))
    total = sum(sum(c.values()) for c in SEEN.values())
    print(f"\nconformance: {total} requests over {len(every)} operations; report in $AUTHSOME_CONFORMANCE_REPORT")
    assert not missing, f"operations never reached past authentication: {missing}"


def run(case, session: requests.Session, name: str, base_url: str) -> None:
    response = case.call(base_url=base_url, session=session, timeout=30)
    SEEN[(name, f"{case.method.upper()} {case.path}")][response.status_code] += 1
    case.validate_response(response, checks=CHECKS)


common = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


@schema.parametrize()
@common
def test_unauthenticated(case, deployment):
    run(case, requests.Session(), "unauthenticated", deployment.server.base_url)


@schema.parametrize()
@common
def test_signed(case, deployment):
    run(case, deployment.signed, "signed", deployment.server.base_url)


@schema.parametrize()
@common
def test_browser_session(case, deployment):
    run(case, deployment.browser_session(), "browser", deployment.server.base_url)


def test_the_signer_matches_what_the_server_verifies(deployment):
    """A proof over other bytes than those sent is refused; over the sent bytes, accepted."""
    base = deployment.server.base_url
    body = json.dumps({"provider": "openai"}).encode()
    good = proof(deployment.identity, "POST", "/api/credentials/resolve", body)
    accepted = requests.post(f"{base}/api/credentials/resolve", data=body, headers={"Authorization": good, "Content-Type": "application/json"})
    assert accepted.status_code == 200, accepted.text
    replayed = requests.post(f"{base}/api/credentials/resolve", data=body, headers={"Authorization": good, "Content-Type": "application/json"})
    assert replayed.status_code == 401 and replayed.json() == {"detail": "Proof JWT was already used"}
    other = proof(deployment.identity, "POST", "/api/credentials/resolve", b"{}")
    refused = requests.post(f"{base}/api/credentials/resolve", data=body, headers={"Authorization": other, "Content-Type": "application/json"})
    assert refused.status_code == 401
