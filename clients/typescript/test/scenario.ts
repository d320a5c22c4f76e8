/**
 * The client scenario, with a client generated from the committed document: run by
 * clients/tests/test_clients.py against a running server, in two steps around the person's
 * claim (a browser step the driver does).
 *
 *   node dist/test/scenario.js register <base_url> <key_file>   -> {"claim_url": ...}
 *   node dist/test/scenario.js use <base_url> <key_file>        -> {"resolved": ..., "replayed": ...}
 */
import { readFileSync, writeFileSync } from "node:fs";

import createClient from "openapi-fetch";

import type { components, paths } from "../generated/schema.js";
import { Identity, popMiddleware, proof } from "../src/pop.js";

type Detail = components["schemas"]["Detail"];
type Resolved = components["schemas"]["ResolvedCredentialsView"];

const [step, baseUrl, keyFile] = process.argv.slice(2);
if (!step || !baseUrl || !keyFile) throw new Error("usage: scenario.js register|use <base_url> <key_file>");

async function register(): Promise<object> {
  const identity = await Identity.generate("ts-agent");
  writeFileSync(keyFile!, JSON.stringify(await identity.toJwk()));
  const client = createClient<paths>({ baseUrl });
  const { data, error } = await client.POST("/api/identities/register", {
    body: { handle: identity.handle, did: identity.did },
  });
  if (error || !data) throw new Error(`registration failed: ${JSON.stringify(error)}`);
  return { claim_url: data.claim_url };
}

async function use(): Promise<object> {
  const identity = await Identity.fromJwk("ts-agent", JSON.parse(readFileSync(keyFile!, "utf8")) as JsonWebKey);
  const client = createClient<paths>({ baseUrl });
  client.use(popMiddleware(identity));
  const started = await client.POST("/api/auth/sessions", {
    body: { provider: "openai", connection: "default", flow: "api_key", force: true },
  });
  if (!started.data) throw new Error(`start failed: ${JSON.stringify(started.error)}`);
  const resumed = await client.POST("/api/auth/sessions/{session_id}/resume", {
    params: { path: { session_id: started.data.id } },
    body: { data: { api_key: "sk-proj-typescriptclient0123456789" } },
  });
  if (resumed.data?.status !== "completed") throw new Error(`resume failed: ${JSON.stringify(resumed.error ?? resumed.data)}`);
  const resolved = await client.POST("/api/credentials/resolve", { body: { provider: "openai" } });
  if (!resolved.data) throw new Error(`resolve failed: ${JSON.stringify(resolved.error)}`);
  const view: Resolved = resolved.data;

  // The same signed request twice: the second is a replay, answered with a typed 401.
  const body = JSON.stringify({ provider: "openai" });
  const once = await proof(identity, "POST", "/api/credentials/resolve", new TextEncoder().encode(body));
  const plain = createClient<paths>({ baseUrl, headers: { Authorization: once } });
  const first = await plain.POST("/api/credentials/resolve", { body: { provider: "openai" } });
  const second = await plain.POST("/api/credentials/resolve", { body: { provider: "openai" } });
  const replayed = second.error as Detail | undefined;
  return {
    resolved: { source: view.source, headers: view.headers },
    first_status: first.response.status,
    replayed_status: second.response.status,
    replayed_detail: replayed && "detail" in replayed ? replayed.detail : null,
  };
}

const result = step === "register" ? await register() : await use();
process.stdout.write(JSON.stringify(result) + "\n");
