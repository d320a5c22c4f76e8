"""An agent speaking the daemon protocol directly: an Ed25519 did:key identity that signs
each request with a proof-of-possession JWT, using authsome 0.7.2's own signing code."""

from __future__ import annotations

import json
import secrets

import httpx
from authsome.identity.helpers import public_key_to_did_key
from authsome.identity.proof import create_proof_jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def encode(body) -> bytes:
    # What the CLI sends: compact, sorted keys.
    return b"" if body is None else json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


class Agent:
    def __init__(self, handle: str | None = None) -> None:
        self.handle = handle or f"agent-{secrets.token_hex(4)}"
        self.key = Ed25519PrivateKey.generate()
        self.did = public_key_to_did_key(self.key.public_key())

    def proof(self, method: str, path: str, body: bytes) -> str:
        token = create_proof_jwt(
            private_key=self.key, issuer=self.did, subject=self.handle, method=method, path_query=path, body=body
        )
        return f"PoP {token}"

    def register(self, base_url: str) -> str:
        response = httpx.post(f"{base_url}/api/identities/register", json={"handle": self.handle, "did": self.did}, timeout=30)
        response.raise_for_status()
        return response.json()["claim_url"]

    def send(self, base_url: str, method: str, path: str, body: bytes, proof: str, client: httpx.Client | None = None) -> httpx.Response:
        headers = {"Authorization": proof}
        if body:
            headers["Content-Type"] = "application/json"
        requester = client or httpx
        return requester.request(method, base_url + path, content=body or None, headers=headers, timeout=30)

    def call(self, base_url: str, method: str, path: str, body=None, client: httpx.Client | None = None) -> httpx.Response:
        data = encode(body)
        return self.send(base_url, method, path, data, self.proof(method, path, data), client)

    def store_api_key(self, base_url: str, provider: str, connection: str, key: str, client: httpx.Client | None = None) -> httpx.Response:
        """The CLI's key import: start an API-key login, then resume it with the key."""
        started = self.call(base_url, "POST", "/api/auth/sessions",
                            {"connection": connection, "flow": "api_key", "force": True, "provider": provider}, client)
        started.raise_for_status()
        session = started.json()["id"]
        return self.call(base_url, "POST", f"/api/auth/sessions/{session}/resume", {"data": {"api_key": key}}, client)
