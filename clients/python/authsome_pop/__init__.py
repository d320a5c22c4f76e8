"""Proof-of-possession signing for authsome daemon clients.

Every agent request to an authsome daemon carries ``Authorization: PoP <jwt>``: an EdDSA
(Ed25519) JWT signed by the agent's key, bound to the request's method, path and query, and
body, used once. A client generated from ``openapi/openapi.json`` (openapi-python-client,
or any generator over httpx or requests) gets this by passing one of the auth objects here:

    identity = Identity.generate("my-agent")
    client = AuthenticatedClient(base_url=url, token="", httpx_args={"auth": PopAuth(identity)})

The signer sees the request exactly as it is sent (the final body bytes, the encoded URL), so
whatever a generator does to the body, the proof matches.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from typing import Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = ["Identity", "proof", "PopAuth", "PopRequestsAuth", "AUDIENCE"]

#: The audience every daemon expects.
AUDIENCE = "authsome-daemon"
#: How long a proof is valid (the daemon accepts at most 120 s).
LIFETIME_SECONDS = 60

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ED25519_MULTICODEC = b"\xed\x01"


def _base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, digit = divmod(number, 58)
        text = _BASE58[digit] + text
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + text


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Identity:
    """An agent identity: a handle and the Ed25519 key its ``did:key`` names."""

    handle: str
    key: Ed25519PrivateKey

    @classmethod
    def generate(cls, handle: str) -> "Identity":
        """A new identity with a fresh key."""
        return cls(handle, Ed25519PrivateKey.generate())

    @property
    def did(self) -> str:
        """The ``did:key`` of the public key (multicodec ed25519-pub, base58btc)."""
        public = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return "did:key:z" + _base58(_ED25519_MULTICODEC + public)


def _path_and_query(url: str) -> str:
    """What the daemon compares ``htu`` with: the percent-decoded path, then ``?`` and the
    query exactly as sent."""
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parts.path or "/")
    return f"{path}?{parts.query}" if parts.query else path


def proof(identity: Identity, method: str, url: str, body: bytes | None, now: float | None = None) -> str:
    """The ``Authorization`` header value for one request: ``PoP <jwt>``.

    ``url`` may be absolute or a path with its query; ``body`` is the exact bytes sent.
    """
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": identity.did,
        "sub": identity.handle,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + LIFETIME_SECONDS,
        "jti": secrets.token_hex(16),
        "htm": method.upper(),
        "htu": _path_and_query(url),
        "body_sha256": hashlib.sha256(body or b"").hexdigest(),
    }
    header = _b64url(json.dumps({"alg": "EdDSA", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64url(identity.key.sign(f"{header}.{payload}".encode()))
    return f"PoP {header}.{payload}.{signature}"


try:
    import httpx

    class PopAuth(httpx.Auth):
        """An ``httpx.Auth`` that signs every request with a fresh proof."""

        requires_request_body = True

        def __init__(self, identity: Identity) -> None:
            self.identity = identity

        def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
            request.headers["Authorization"] = proof(self.identity, request.method, str(request.url), request.content)
            yield request

except ImportError:  # pragma: no cover - httpx is optional
    pass

try:
    import requests

    class PopRequestsAuth(requests.auth.AuthBase):
        """A ``requests`` auth that signs every prepared request with a fresh proof."""

        def __init__(self, identity: Identity) -> None:
            self.identity = identity

        def __call__(self, request: "requests.PreparedRequest") -> "requests.PreparedRequest":
            body = request.body
            if isinstance(body, str):
                body = body.encode()
            request.headers["Authorization"] = proof(self.identity, request.method or "GET", request.url or "/", body)
            return request

except ImportError:  # pragma: no cover - requests is optional
    pass
