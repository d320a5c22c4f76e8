// Two people in a real browser (Debian's headless Chromium, driven by playwright-core, with
// JavaScript turned off: every page must work without it) walking every dashboard screen the
// way a person would, taking a screenshot of each (docs/guides/dashboard.md shows them).
//
//   node dashboard-walkthrough.mjs PLAN.json
//
// PLAN.json: {claim_url, email, password, openai_key, oauth: {definition, client_id,
// client_secret}, device: {definition, client_id, client_secret}, second: {email, password},
// screenshots}. The first person becomes the admin (the first account on a server is).
// Prints one JSON line of what the people saw; exits non-zero, with a screenshot of the page
// it stopped on, when a step fails.

import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ourOrigin = new URL(plan.claim_url).origin;
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const seen = { screenshots: [] };

/** A browser context for one person, at a laptop's width, without JavaScript. */
async function personAt(width = 1200, height = 800) {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width, height } });
  const page = await context.newPage();
  if (process.env.WALKTHROUGH_TRACE) {
    page.on("request", (r) => console.error(`${r.method()} ${r.url()} ${r.postData() ?? ""}`));
    page.on("response", (r) => console.error(`  -> ${r.status()} ${r.headers().location ?? ""}`));
  }
  return { context, page };
}

let current;
function fail(reason) {
  throw new Error(`${reason} (at ${current?.url()})`);
}

async function shot(page, name) {
  const path = `${plan.screenshots}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  seen.screenshots.push(name);
}

async function expectHeading(page, pattern) {
  const heading = page.getByRole("heading", { level: 1 });
  await heading.first().waitFor();
  const text = await heading.first().innerText();
  if (!pattern.test(text)) fail(`expected a heading like ${pattern}, saw "${text}"`);
}

async function flash(page) {
  return (await page.locator("main [role=status]").first().innerText()).trim();
}

async function sidebar(page, label) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true }).click();
}

/** A finished login lands on the new connection's page, saying so. */
async function landedConnected(page, timeout = 15000) {
  await page.waitForURL(/\/connections\/detail\?.*done=connected/, { timeout });
  const message = await flash(page);
  if (!/^Connected/.test(message)) fail(`expected "Connected", saw "${message}"`);
}

async function rowsOf(page) {
  return page.locator("main table tbody tr").count();
}

/** Signs in at the authorization server (node-oidc-provider's development pages) and consents. */
async function atTheAuthorizationServer(page) {
  for (let step = 0; step < 6; step += 1) {
    await page.waitForLoadState();
    if (new URL(page.url()).origin === ourOrigin) return;
    const text = await page.locator("body").innerText();
    if (/Sign-in Success|successfully signed in|You can close/i.test(text)) return;
    const login = page.locator("input[name=login]");
    if (await login.count()) {
      await login.fill("dashboard-person");
      await page.locator("input[name=password]").fill("any password");
    }
    await page.locator("button[type=submit]").first().click();
  }
  fail("the authorization server kept asking");
}

/** The admin's whole walk: sign-up, claim, connecting, managing, the audit log, inviting. */
async function admin() {
  const { page } = await personAt();
  current = page;

  // Sign up from the claim link the agent printed, and claim the agent.
  await page.goto(plan.claim_url);
  await expectHeading(page, /Claim agent/);
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.locator("#register-email").fill(plan.email);
  await page.locator("#register-password").fill(plan.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(/\/claim\?token=/);
  await shot(page, "01-claim");
  await page.getByRole("button", { name: "Claim agent" }).click();
  await page.waitForURL((url) => new URL(url).pathname === "/");
  await expectHeading(page, /Dashboard/);
  seen.home_agents = await page.locator("main table").first().innerText();

  // Agents, then the agent's own page.
  await sidebar(page, "Agents");
  await expectHeading(page, /Agents/);
  await shot(page, "03-agents");
  await page.locator("main table tbody a").first().click();
  await expectHeading(page, /Agent /);
  seen.agent_detail = await page.locator("main table").first().innerText();
  await shot(page, "04-agent");

  // The catalog: search, filter by type, connect an API-key provider, twice.
  await sidebar(page, "Providers");
  await page.getByLabel("Search").fill("openai");
  await page.getByLabel("Type").selectOption("api_key");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL(/q=openai/);
  seen.catalog_rows = await rowsOf(page);
  await shot(page, "05-providers");
  await page.locator("main table tbody a").first().click();
  await expectHeading(page, /OpenAI/);
  for (const [connection, key] of [["default", plan.openai_key], ["work", `${plan.openai_key}-work`]]) {
    await page.getByLabel("Connection name").fill(connection);
    await page.getByRole("button", { name: /^Connect / }).click();
    await page.waitForURL(/\/auth\/input\?session=/);
    await page.getByLabel("API Key").fill(key);
    if (connection === "default") await shot(page, "06-api-key");
    await page.getByRole("button", { name: "Save" }).click();
    await landedConnected(page);
    await page.goto(`${ourOrigin}/providers/detail?provider=openai`);
  }

  // A custom OAuth provider, first with a mistake the form shows next to the field.
  await sidebar(page, "Providers");
  await page.getByRole("link", { name: "Register a custom provider" }).click();
  const broken = { ...plan.oauth.definition, auth_type: "carrier_pigeon" };
  await page.getByLabel("Definition (JSON)").fill(JSON.stringify(broken, null, 2));
  await page.getByRole("button", { name: "Register provider" }).click();
  seen.definition_error = await page.locator("#definition-error").innerText();
  seen.definition_kept = (await page.getByLabel("Definition (JSON)").inputValue()).includes("carrier_pigeon");
  await shot(page, "08-provider-form");
  await page.getByLabel("Definition (JSON)").fill(JSON.stringify(plan.oauth.definition, null, 2));
  await page.getByRole("button", { name: "Register provider" }).click();
  await expectHeading(page, new RegExp(plan.oauth.definition.display_name.replace(/[()]/g, "\\$&")));

  // Its OAuth client, then Connect: to the authorization server and back.
  seen.callback_shown = (await page.locator("main").innerText()).includes("/api/auth/callback/oauth");
  await page.getByLabel("Client ID").fill(plan.oauth.client_id);
  await page.getByLabel("Client Secret").fill(plan.oauth.client_secret);
  await page.getByRole("button", { name: "Save client settings" }).click();
  seen.client_saved = await flash(page);
  await shot(page, "09-provider");
  await page.getByLabel("Connection name").fill("default");
  await page.getByRole("button", { name: /^Connect / }).click();
  await page.waitForURL((url) => new URL(url).origin !== ourOrigin, { timeout: 15000 });
  await atTheAuthorizationServer(page);
  await landedConnected(page);

  // A device-code provider: the code page, the verification page, and the page noticing.
  await page.goto(`${ourOrigin}/providers/new`);
  await page.getByLabel("Definition (JSON)").fill(JSON.stringify(plan.device.definition, null, 2));
  await page.getByRole("button", { name: "Register provider" }).click();
  await page.getByLabel("Client ID").fill(plan.device.client_id);
  await page.getByLabel("Client Secret").fill(plan.device.client_secret);
  await page.getByRole("button", { name: "Save client settings" }).click();
  await page.getByLabel("Connection name").fill("default");
  await page.getByRole("button", { name: /^Connect / }).click();
  await page.waitForURL(/\/auth\/device\?session=/);
  const devicePage = page.url();
  seen.user_code = (await page.locator("p.code code").innerText()).trim();
  await shot(page, "10-device");
  await page.getByRole("link", { name: /^Open / }).click();
  await atTheAuthorizationServer(page);
  await page.goto(devicePage);
  // The page reloads itself (a Refresh header, no script) and moves on once approved.
  await landedConnected(page, 30000);

  // Connections: reveal a secret, make one the default, make it global.
  await sidebar(page, "Connections");
  await expectHeading(page, /Connections/);
  await shot(page, "11-connections");
  await page.getByRole("link", { name: "work" }).first().click();
  await expectHeading(page, /work/);
  await page.getByRole("button", { name: "Reveal secret" }).click();
  seen.revealed = await page.locator("#secret-1").inputValue();
  await page.getByRole("button", { name: /Make it the default/ }).click();
  seen.default_flash = await flash(page);
  await page.getByRole("button", { name: /Make it global/ }).click();
  seen.global_flash = await flash(page);
  seen.connection_detail = await page.locator("main table").first().innerText();
  await page.getByRole("button", { name: "Reveal secret" }).click();
  await shot(page, "12-connection");
  seen.connection_url = page.url();

  // The audit log, ten at a time, one page older, then back.
  await sidebar(page, "Audit log");
  await page.getByLabel("Per page").selectOption("10");
  await page.getByRole("button", { name: "Filter" }).click();
  seen.audit_first_page = await rowsOf(page);
  const newest = await page.locator("main table tbody tr").first().innerText();
  await shot(page, "13-audit");
  await page.getByRole("link", { name: "Older events" }).click();
  seen.audit_second_page = await rowsOf(page);
  seen.audit_pages_differ = (await page.locator("main table tbody tr").first().innerText()) !== newest;
  await page.getByRole("link", { name: "Newest events" }).click();
  seen.audit_back_to_newest = (await page.locator("main table tbody tr").first().innerText()) === newest;
  await page.getByLabel("Event").fill("provider.login");
  await page.getByRole("button", { name: "Filter" }).click();
  seen.audit_logins = await page.locator("main table tbody td:nth-child(2)").allInnerTexts();

  // Settings: who the admin is, then invite the second person.
  await sidebar(page, "Settings");
  seen.admin_principal = (await page.locator("#general tr", { hasText: "Principal" }).locator("code").innerText()).trim();
  await page.getByLabel("Email", { exact: true }).fill(plan.second.email);
  await page.getByLabel("Role").selectOption("user");
  await page.getByRole("button", { name: "Create invitation" }).click();
  const invitation = (await page.locator("main .notice code").innerText()).trim();
  seen.invitation_is_sign_up_link = /\/login\?setup=/.test(invitation);
  await shot(page, "14-settings");

  // The home page last, with everything in it, and at a phone's width.
  await sidebar(page, "Dashboard");
  await shot(page, "02-home");
  const phone = await personAt(390, 844);
  await phone.context.addCookies(await page.context().cookies());
  await phone.page.goto(`${ourOrigin}/`);
  await shot(phone.page, "16-home-phone");
  return invitation;
}

/** The invited person signs up, sees the global connection, and is refused the admin's secrets. */
async function invited(invitation) {
  const adminConnection = { provider: "openai", connection: "work", principal: seen.admin_principal };
  const adminConnectionUrl = `${ourOrigin}/connections/detail?${new URLSearchParams(adminConnection)}`;
  const { page } = await personAt();
  current = page;
  await page.goto(invitation);
  await page.locator("#register-email").fill(plan.second.email);
  await page.locator("#register-password").fill(plan.second.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL((url) => new URL(url).pathname === "/");
  await expectHeading(page, /Dashboard/);
  seen.second_role = await page.locator(".sidebar .muted").innerText();
  await sidebar(page, "Connections");
  seen.second_connections = await page.locator("main").innerText();
  const response = await page.goto(adminConnectionUrl);
  seen.refused_status = response.status();
  seen.refused_page = await page.locator("main").innerText();
  await shot(page, "15-refused");
  // A reveal forged with the person's own valid CSRF token, naming the admin's connection.
  await page.goto(`${ourOrigin}/settings/`);
  const csrf = await page.locator("input[name=csrf_token]").first().inputValue();
  const reveal = await page.request.post(`${ourOrigin}/connections/reveal`, {
    form: { ...adminConnection, csrf_token: csrf },
    maxRedirects: 0,
  });
  seen.forged_reveal_status = reveal.status();
  seen.forged_reveal_leaks = (await reveal.text()).includes(plan.openai_key);
}

try {
  const invitation = await admin();
  await invited(invitation);
  console.log(JSON.stringify(seen));
} catch (error) {
  await current
    ?.screenshot({ path: `${plan.screenshots}/walkthrough-failure.png`, fullPage: true })
    .catch(() => {});
  console.error(String(error));
  process.exitCode = 1;
} finally {
  await browser.close();
}
