// A person in a real browser (Debian's headless Chromium, driven by playwright-core) doing the
// human steps of authsome on authsome-rs's own pages. Prints one JSON line describing where
// it ended up; exits non-zero (with a screenshot next to $AUTHSOME_BROWSER_ARTIFACTS) on failure.
//
//   node person.mjs claim CLAIM_URL EMAIL PASSWORD      sign up from the claim link, then claim
//   node person.mjs input INPUT_URL EMAIL PASSWORD KEY  sign in from the input link, enter KEY
//   node person.mjs oauth INPUT_URL EMAIL PASSWORD CLIENT_ID:CLIENT_SECRET
//        sign in from an OAuth login's input link, enter the OAuth client, then sign in at the
//        authorization server (node-oidc-provider's development pages) and consent

import { chromium } from "playwright-core";

const [action, url, email, password, apiKey] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const artifacts = process.env.AUTHSOME_BROWSER_ARTIFACTS || "/tmp";

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const page = await (await browser.newContext()).newPage();
// Errors on our pages fail the run; the authorization server's development pages load web
// fonts from the internet, which this machine cannot reach, and are not ours to judge.
const ourOrigin = new URL(url).origin;
const onOurPage = () => new URL(page.url()).origin === ourOrigin;
const consoleErrors = [];
page.on("console", (message) => message.type() === "error" && onOurPage() && consoleErrors.push(message.text()));
page.on("pageerror", (error) => onOurPage() && consoleErrors.push(String(error)));

function fail(reason) {
  throw new Error(`${reason} (at ${page.url()})`);
}

async function claim() {
  await page.goto(url);
  if (!(await page.getByRole("heading", { name: /Claim agent/ }).isVisible())) fail("the claim page did not load");
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.locator("#register-email").fill(email);
  await page.locator("#register-password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(/\/claim\?token=/);
  await page.getByRole("button", { name: "Claim agent" }).click();
  await page.waitForURL((current) => new URL(current).pathname === "/");
  const agents = await page.locator("table").first().innerText();
  return { page: new URL(page.url()).pathname, agents };
}

async function input() {
  await page.goto(url);
  await page.waitForURL(/\/login\?next=/);
  await page.locator("#login-email").fill(email);
  await page.locator("#login-password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/auth\/input\?session=/);
  await page.getByLabel("API Key").fill(apiKey);
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForURL(/\/auth\/success\?session=/);
  const heading = await page.getByRole("heading").first().innerText();
  return { page: new URL(page.url()).pathname, heading };
}

async function oauth() {
  const [clientId, clientSecret] = apiKey.split(":");
  await page.goto(url);
  await page.waitForURL(/\/login\?next=/);
  await page.locator("#login-email").fill(email);
  await page.locator("#login-password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/auth\/input\?session=/);
  await page.getByLabel("Client ID").fill(clientId);
  await page.getByLabel("Client Secret").fill(clientSecret);
  await page.getByRole("button", { name: "Continue" }).click();
  // The authorization server's own sign-in and consent pages.
  await page.waitForURL((current) => new URL(current).origin !== new URL(url).origin, { timeout: 15000 });
  await page.locator("input[name=login]").fill("chromium-person");
  await page.locator("input[name=password]").fill("any password");
  await page.locator("button[type=submit]").click();
  await page.locator("button[type=submit]", { hasText: /continue/i }).click();
  await page.waitForURL(/\/auth\/success\?session=/);
  const heading = await page.getByRole("heading").first().innerText();
  return { page: new URL(page.url()).pathname, heading };
}

const actions = { claim, input, oauth };

try {
  const outcome = actions[action] ? await actions[action]() : fail(`unknown action ${action}`);
  if (consoleErrors.length) fail(`console errors: ${consoleErrors.join("; ")}`);
  console.log(JSON.stringify(outcome));
} catch (error) {
  await page.screenshot({ path: `${artifacts}/authsome-browser-${action}-failure.png`, fullPage: true }).catch(() => {});
  console.error(String(error));
  process.exitCode = 1;
} finally {
  await browser.close();
}
