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
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
