/**
 * Proof-of-possession signing for authsome daemon clients.
 *
 * Every agent request to an authsome daemon carries `Authorization: PoP <jwt>`: an EdDSA
 * (Ed25519) JWT signed by the agent's key and bound to the request's method, path and query,
 * and body, used once. A client generated with openapi-typescript and openapi-fetch gets it by
 * `client.use(popMiddleware(identity))`: the middleware signs the request exactly as it is sent.
 *
 * Uses only WebCrypto (`crypto.subtle`, Ed25519), so it runs in Node 20+ and in browsers.
 */

/** The audience every daemon expects. */
export const AUDIENCE = "authsome-daemon";
/** How long a proof is valid (the daemon accepts at most 120 s). */
export const LIFETIME_SECONDS = 60;

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function base58(bytes: Uint8Array): string {
  let number = 0n;
  for (const byte of bytes) number = (number << 8n) | BigInt(byte);
  let text = "";
  while (number > 0n) {
    text = BASE58[Number(number % 58n)] + text;
    number /= 58n;
  }
  for (const byte of bytes) {
    if (byte !== 0) break;
    text = "1" + text;
  }
  return text;
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

function hex(bytes: ArrayBuffer): string {
  return Buffer.from(bytes).toString("hex");
}

/** An agent identity: a handle and the Ed25519 key its `did:key` names. */
export class Identity {
  private constructor(
    readonly handle: string,
    readonly did: string,
    private readonly privateKey: CryptoKey,
  ) {}

  /** A new identity with a fresh key. */
  static async generate(handle: string): Promise<Identity> {
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    return Identity.fromKeys(handle, pair);
  }

  /** The identity of an exported private key (JWK), as `toJwk` wrote it. */
  static async fromJwk(handle: string, jwk: JsonWebKey): Promise<Identity> {
    const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, true, ["sign"]);
    const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
    const publicKey = await crypto.subtle.importKey("jwk", publicJwk, { name: "Ed25519" }, true, ["verify"]);
    return Identity.fromKeys(handle, { privateKey, publicKey });
  }

  private static async fromKeys(handle: string, pair: CryptoKeyPair): Promise<Identity> {
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    const multicodec = new Uint8Array([0xed, 0x01, ...raw]);
    return new Identity(handle, "did:key:z" + base58(multicodec), pair.privateKey);
  }

  /** The private key as a JWK (keep it secret). */
  async toJwk(): Promise<JsonWebKey> {
    return crypto.subtle.exportKey("jwk", this.privateKey);
  }

  /** Signs `data` with the identity's key. */
  async sign(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, this.privateKey, data));
  }
}

/** What the daemon compares `htu` with: the percent-decoded path, then `?` and the query as sent. */
function pathAndQuery(url: string): string {
  const parsed = new URL(url, "http://authsome.invalid");
  const path = decodeURIComponent(parsed.pathname || "/");
  return parsed.search.length > 1 ? `${path}${parsed.search}` : path;
}

/** The `Authorization` header value for one request: `PoP <jwt>`. */
export async function proof(
  identity: Identity,
  method: string,
  url: string,
  body: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const issued = Math.floor(Date.now() / 1000);
  const claims = {
    iss: identity.did,
    sub: identity.handle,
    aud: AUDIENCE,
    iat: issued,
    exp: issued + LIFETIME_SECONDS,
    jti: crypto.randomUUID(),
    htm: method.toUpperCase(),
    htu: pathAndQuery(url),
    body_sha256: hex(await crypto.subtle.digest("SHA-256", body)),
  };
  const encoder = new TextEncoder();
  const header = base64url(encoder.encode(JSON.stringify({ alg: "EdDSA", typ: "JWT" })));
  const payload = base64url(encoder.encode(JSON.stringify(claims)));
  const signature = base64url(await identity.sign(encoder.encode(`${header}.${payload}`)));
  return `PoP ${header}.${payload}.${signature}`;
}

/** The shape of an openapi-fetch middleware (kept structural so any version fits). */
export interface RequestMiddleware {
  onRequest(options: { request: Request }): Promise<Request>;
}

/** An openapi-fetch middleware that signs every request with a fresh proof. */
export function popMiddleware(identity: Identity): RequestMiddleware {
  return {
    async onRequest({ request }) {
      const body = new Uint8Array(await request.clone().arrayBuffer());
      request.headers.set("Authorization", await proof(identity, request.method, request.url, body));
      return request;
    },
  };
}
