#!/usr/bin/env node
// A BROWSER command for the CLI's browser-cookie logins: opens the URL in headless Chromium
// with the person's Chrome profile ($HOME/.config/google-chrome, where authsome 0.7.2's CLI
// reads cookies with browser-cookie3), waits for the page, and closes the browser so that
// Chromium writes its cookie database to disk.
//
//   open-with-profile.mjs URL       (Python's webbrowser runs it with the URL)
//
// CHROMIUM_PATH names the Chromium binary (default /usr/bin/chromium).

import os from "node:os";
import path from "node:path";

import { chromium } from "playwright-core";

const url = process.argv[2];
const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const profile = path.join(os.homedir(), ".config", "google-chrome");

// `basic`: cookies encrypted with Chromium's fixed Linux key, which browser-cookie3 knows
// (no desktop keyring runs here).
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--password-store=basic"],
});
try {
  const page = await context.newPage();
  await page.goto(url, { waitUntil: "load" });
} finally {
  await context.close();
}
