"""What `authsome run`'s proxy does for one outgoing request, with authsome 0.7.2's own code
(minus mitmproxy): build the route table from the daemon, match the request, and resolve the
credentials for the matched connection. Prints {"match": ..., "headers": ...} as JSON.

Usage: proxy_lookup.py HOST PATH [SCOPE [route-only]]
"""

import asyncio
import json
import sys

from authsome.cli.context import ContextObj
from authsome.proxy.server import AuthProxyAddon


async def main(host: str, path: str, scope: str, route_only: bool) -> None:
    context = await ContextObj(json_output=True, quiet=True, no_color=True).initialize()
    addon = AuthProxyAddon(client=context.runtime_client, mode=f"{scope}_allow")
    router = await addon._ensure_initialized()
    match = router.route("https", host, 443, path)
    if match is None or route_only:
        matched = None if match is None else {"provider": match.provider, "connection": match.connection}
        print(json.dumps({"match": matched, "headers": None}))
        return
    headers = await addon._get_auth_headers(match)
    print(json.dumps({"match": {"provider": match.provider, "connection": match.connection}, "headers": headers}))


if __name__ == "__main__":
    scope = sys.argv[3] if len(sys.argv) > 3 else "connected"
    asyncio.run(main(sys.argv[1], sys.argv[2], scope, len(sys.argv) > 4 and sys.argv[4] == "route-only"))
