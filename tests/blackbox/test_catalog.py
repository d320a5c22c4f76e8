"""Our bundled provider catalog against authsome 0.7.2's, read by the reference's own code.

The reference's `ProviderDefinition` model loads both catalogs (so every definition we serve
is one its CLI can parse), and the facts a user would notice are compared provider by
provider: name, type, flow, URLs, scopes, OAuth and browser settings, the header a key is sent
in, the key pattern, and the exact variables `authsome export` prints, computed by the
reference's own export code. Every difference must be one of the deliberate ones below, each
written down in docs/reference-compatibility.md; a difference that is not listed fails, and
so does a listed one that no longer exists.

Then our server exports, for every API-key provider, exactly what the reference's export code
produces from the reference's definition.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import json
import unittest
from pathlib import Path

import httpx
from authsome.auth.models.connection import ConnectionRecord
from authsome.auth.models.provider import ProviderDefinition
from authsome.server.credential_service import CredentialService
from authsome.utils import parse_jsonc

from agent import Agent
from harness import Backends, Browser, Server

OUR_PROVIDERS = Path(__file__).resolve().parents[2] / "services" / "providers"
PASSWORD = "a long and careful passphrase"

# (provider, fact) -> why we differ. Mirrored in docs/reference-compatibility.md.
DELIBERATE = {
    ("apollo", "api_key.header_name"): "Apollo reads the key from X-Api-Key",
    ("apollo", "api_key.header_prefix"): "X-Api-Key carries the bare key",
    ("hunter", "api_key.header_name"): "Hunter reads the key from X-API-KEY",
    ("hunter", "api_key.header_prefix"): "X-API-KEY carries the bare key",
    ("livestorm", "api_key.header_prefix"): "Livestorm wants the bare token in Authorization",
    ("anthropic", "api_key.key_pattern"): "at least 20 characters after the prefix",
    ("cloudflare", "api_key.key_pattern"): "same rule, unanchored (we always match the whole key)",
    ("cloudflare-mcp", "api_key.key_pattern"): "same rule, unanchored (we always match the whole key)",
    ("github-mcp", "api_key.key_pattern"): "also gho_/ghu_/ghs_/ghr_ tokens, which GitHub's MCP server accepts",
    ("groq", "api_key.key_pattern"): "at least 20 characters after the prefix",
    ("linear-mcp", "api_key.key_pattern"): "at least 20 characters after the prefix",
    ("openai", "api_key.key_pattern"): "same rule, unanchored (we always match the whole key)",
    ("openrouter", "api_key.key_pattern"): "any sk-or- key version, not only v1",
    ("perplexity", "api_key.key_pattern"): "at least 20 characters after the prefix",
    ("slack-mcp", "api_key.key_pattern"): "user and app tokens too, not only xoxb- bot tokens",
    ("stripe-mcp", "api_key.key_pattern"): "restricted keys (rk_) too, which Stripe recommends for agents",
}

# Providers whose export map names more than one variable: we print those variables in name
# order (the reference: in the definition's order). Documented in docs/reference-compatibility.md.
EXPORT_MAP_IN_NAME_ORDER = {"github-mcp"}

# A key each patterned provider accepts (the others take any key).
SAMPLE_KEYS = {
    "anthropic": "sk-ant-api03-" + "Ab9" * 10,
    "cloudflare": "c" * 40,
    "cloudflare-mcp": "d" * 40,
    "github-mcp": "ghp_" + "A1b2" * 9,
    "groq": "gsk_" + "G7" * 16,
    "linear-mcp": "lin_api_" + "L3" * 16,
    "openai": "sk-proj-" + "a1b2c3d4e5" * 4,
    "openrouter": "sk-or-v1-" + "0f" * 20,
    "perplexity": "pplx-" + "P9" * 16,
    "slack-mcp": "xoxb-1234-5678-" + "s" * 16,
    "stripe-mcp": "sk_test_" + "S4" * 12,
}


def reference_catalog() -> dict[str, ProviderDefinition]:
    catalog = {}
    for file in importlib.resources.files("authsome.auth.bundled_providers").iterdir():
        if file.name.endswith((".json", ".jsonc")):
            definition = ProviderDefinition.model_validate(parse_jsonc(file.read_text(encoding="utf-8")))
            catalog[definition.name] = definition
    return catalog


def our_catalog() -> dict[str, ProviderDefinition]:
    catalog = {}
    files = sorted(OUR_PROVIDERS.glob("*.json"))
    if not files:
        raise AssertionError(f"no bundled provider definitions in {OUR_PROVIDERS}")
    for file in files:
        definition = ProviderDefinition.model_validate(json.loads(file.read_text(encoding="utf-8")))
        catalog[definition.name] = definition
    return catalog


def sample_record(
    definition: ProviderDefinition, api_key: str = "KEY", base_url: str | None = "https://self-hosted.example"
) -> ConnectionRecord:
    fields = {
        "provider": definition.name,
        "connection_name": "default",
        "auth_type": definition.auth_type,
        "status": "connected",
        "base_url": base_url,
    }
    if definition.auth_type == "oauth2":
        fields.update(access_token="AT", refresh_token="RT")
    elif definition.auth_type == "api_key":
        fields.update(api_key=api_key)
    else:
        fields.update(credentials={cookie: "cookie-" + cookie for cookie in definition.browser.auth_cookies})
    return ConnectionRecord(**fields)


def reference_export(definition: ProviderDefinition, record: ConnectionRecord) -> list[tuple[str, str]]:
    """What the reference's own export code prints for `record`, in its order."""

    class OneConnection:
        async def get_provider(self, _provider):
            return definition

        async def get_connection(self, _provider, _connection):
            return record

    values = asyncio.run(CredentialService._export_connection_values(OneConnection(), definition.name, "default"))
    return list(values.items())


def without_comments(settings) -> dict | None:
    if settings is None:
        return None
    return {key: value for key, value in settings.model_dump().items() if not key.startswith("_")}


def facts(definition: ProviderDefinition) -> dict[str, object]:
    found = {
        "display_name": definition.display_name,
        "type": definition.type,
        "auth_type": definition.auth_type,
        "flow": definition.flow,
        "api_urls": definition.api_urls(),
        "export": reference_export(definition, sample_record(definition)),
        "oauth": without_comments(definition.oauth),
        "registration": without_comments(definition.registration),
        "browser": without_comments(definition.browser),
    }
    if definition.api_key:
        found["api_key.header_name"] = definition.api_key.header_name
        # No prefix and an empty prefix send the same header.
        found["api_key.header_prefix"] = definition.api_key.header_prefix or None
        found["api_key.env_var"] = (definition.api_key.model_extra or {}).get("env_var")
        found["api_key.key_pattern"] = definition.api_key.key_pattern
    return found


class CatalogFacts(unittest.TestCase):
    def test_the_catalog_differs_from_the_reference_only_where_we_say_so(self) -> None:
        reference, ours = reference_catalog(), our_catalog()
        self.assertEqual(len(reference), 88)
        self.assertEqual(sorted(ours), sorted(reference))
        undocumented, added_env_vars = {}, []
        for name in sorted(reference):
            theirs, mine = facts(reference[name]), facts(ours[name])
            for fact, value in theirs.items():
                if mine.get(fact) == value:
                    continue
                if fact == "api_key.env_var" and value is None:
                    # An addition: onboard also finds the variable the provider's docs name.
                    added_env_vars.append(name)
                    continue
                if (name, fact) not in DELIBERATE:
                    undocumented[(name, fact)] = (value, mine.get(fact))
        self.assertEqual(undocumented, {}, "differences from the reference that docs/reference-compatibility.md does not explain")
        stale = {key for key in DELIBERATE if facts(reference[key[0]])[key[1]] == facts(ours[key[0]])[key[1]]}
        self.assertEqual(stale, set(), "listed differences that no longer exist")
        self.assertEqual(len(added_env_vars), 30, added_env_vars)

    def test_github_mcp_exports_gh_token_as_the_reference_does(self) -> None:
        definition = our_catalog()["github-mcp"]
        exported = dict(reference_export(definition, sample_record(definition)))
        self.assertEqual(exported.get("GH_TOKEN"), "KEY")
        self.assertEqual(exported.get("GITHUB_TOKEN"), "KEY")


class ServedExports(unittest.TestCase):
    """Our server's `authsome export` output for every API-key provider, against the reference's."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server(Backends.sqlite_disk()).start()
        cls.agent = Agent()
        claim_url = cls.agent.register(cls.server.base_url)
        owner = Browser(cls.server.base_url)
        assert owner.sign_up("catalog@example.com", PASSWORD).status_code == 303
        assert owner.confirm_claim(claim_url).status_code == 303

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def test_every_api_key_provider_exports_what_the_reference_exports(self) -> None:
        reference = reference_catalog()
        api_key_providers = sorted(name for name, d in reference.items() if d.auth_type == "api_key")
        self.assertEqual(len(api_key_providers), 47)
        with httpx.Client(timeout=30) as client:
            for name in api_key_providers:
                key = SAMPLE_KEYS.get(name, f"key-for-{name}-0123456789")
                stored = self.agent.store_api_key(self.server.base_url, name, "default", key, client)
                self.assertEqual(stored.status_code, 200, f"{name}: {stored.text}")
                served = self.agent.call(
                    self.server.base_url, "POST", "/api/credentials/export",
                    {"connection": "default", "format": "env", "provider": name}, client,
                )
                self.assertEqual(served.status_code, 200, f"{name}: {served.text}")
                expected = [f"{k}={v}" for k, v in reference_export(reference[name], sample_record(reference[name], key, base_url=None))]
                lines = served.json()["output"].split("\n")
                if name in EXPORT_MAP_IN_NAME_ORDER:
                    # The connection's own variable first, then the export map's in name order.
                    expected = expected[:1] + sorted(expected[1:])
                self.assertEqual(lines, expected, name)


if __name__ == "__main__":
    unittest.main()
