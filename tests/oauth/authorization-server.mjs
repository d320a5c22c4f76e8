// A real authorization server for the OAuth login tests: node-oidc-provider (OpenID Certified),
// configured with the authorization code flow with PKCE (S256 only), the device authorization
// grant, open dynamic client registration, refresh-token rotation, revocation and
// introspection. Its development interactions accept any login and show a consent form, which
// the test "person" (tests/oauth/person.py) submits as a browser would.
//
// Usage: node authorization-server.mjs   with
//   PORT            the port to listen on, on 127.0.0.1 (0 picks a free one)
//   REDIRECT_URIS   comma-separated redirect URIs the static clients may use
//   ACCESS_TOKEN_TTL  seconds an access token lives (default 3600)
// It prints one JSON line when it listens: {"issuer": ..., "port": ...}.
//
// Two test hooks sit beside the provider, outside its routes (nothing in them changes how it
// answers OAuth requests):
//   GET  /_test/token-requests  the token endpoint's answers so far, by grant type:
//                               {"refresh_token": {"success": 1, "error": 0}, ...}
//   POST /_test/hold-next-token-request?ms=N  holds the next token request N ms before the
//                               provider sees it, and drops it unseen if the client's
//                               connection closes meanwhile (a client that died mid-request)

import http from 'node:http';

import Provider from 'oidc-provider';

const redirectUris = (process.env.REDIRECT_URIS || '').split(',').filter(Boolean);
const accessTokenTtl = Number(process.env.ACCESS_TOKEN_TTL || 3600);

/** The static clients the tests configure on the vault, one per client authentication style. */
const clients = [
  {
    client_id: 'authsome-pkce',
    client_secret: 'pkce-client-secret',
    redirect_uris: redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  },
  {
    client_id: 'authsome-basic',
    client_secret: 'basic-client-secret',
    redirect_uris: redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: 'authsome-device',
    client_secret: 'device-client-secret',
    redirect_uris: [],
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_post',
  },
  // Introspects the tokens the vault hands out, as a resource server would.
  {
    client_id: 'resource-server',
    client_secret: 'resource-server-secret',
    redirect_uris: [],
    grant_types: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
  },
];

/** Token endpoint answers by grant type, for the tests that count grants. */
const tokenRequests = {};
function countTokenRequest(ctx, outcome) {
  const grantType = String(ctx.oidc?.params?.grant_type || 'unknown');
  tokenRequests[grantType] ||= { success: 0, error: 0 };
  tokenRequests[grantType][outcome] += 1;
}
let holdNextTokenRequestMs = 0;

/** Answers a test hook, or returns false for any other request. */
function testHook(request, response) {
  const url = new URL(request.url, 'http://127.0.0.1');
  const reply = (body) => {
    const text = JSON.stringify(body);
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  };
  if (request.method === 'GET' && url.pathname === '/_test/token-requests') {
    reply(tokenRequests);
    return true;
  }
  if (request.method === 'POST' && url.pathname === '/_test/hold-next-token-request') {
    holdNextTokenRequestMs = Number(url.searchParams.get('ms') || 0);
    reply({ holding_ms: holdNextTokenRequestMs });
    return true;
  }
  return false;
}

const server = http.createServer();
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients,
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      registration: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
    },
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'api:read', 'api:write'],
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    rotateRefreshToken: true,
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: accessTokenTtl,
      AuthorizationCode: 60,
      DeviceCode: 600,
      Grant: 3600,
      IdToken: 3600,
      Interaction: 600,
      RefreshToken: 86400,
      Session: 3600,
    },
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: `${id}@example.com`, name: id }),
    }),
    cookies: { keys: ['authsome-rs test authorization server, not a secret'] },
  });
  provider.proxy = false;
  provider.on('grant.success', (ctx) => countTokenRequest(ctx, 'success'));
  provider.on('grant.error', (ctx) => countTokenRequest(ctx, 'error'));
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token' && holdNextTokenRequestMs > 0) {
      const ms = holdNextTokenRequestMs;
      holdNextTokenRequestMs = 0;
      const clientLeft = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), ms);
        ctx.req.socket.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (clientLeft) {
        return;
      }
    }
    await next();
  });
  const callback = provider.callback();
  server.on('request', (request, response) => {
    if (!testHook(request, response)) {
      callback(request, response);
    }
  });
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
