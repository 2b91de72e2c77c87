// Opens Flink's web UI through flink-ui in headless Chromium (Debian's, driven by
// playwright-core), once with the login and once without, and prints what it saw as JSON:
//   {"with_login": {"status": 200, "text": "...", "errors": [...]}, "without": {"status": 401}}
// usage: node flink_ui.cjs URL SCREENSHOT WAIT_FOR < PASSWORD (user dq; NODE_PATH: the project's node_modules)
// The page counts as drawn once its text holds WAIT_FOR (or after 60 s).
"use strict";
const fs = require("fs");
const { chromium } = require("playwright-core");

async function visit(browser, url, credentials, screenshot, waitFor) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, httpCredentials: credentials });
  const page = await context.newPage();
  const errors = [], statuses = [];
  page.on("pageerror", err => errors.push(String(err)));
  page.on("response", res => statuses.push(res.status()));
  try {
    await page.goto(url);
  } catch (err) { // without a login Chromium ends the navigation at the 401 (ERR_INVALID_AUTH_CREDENTIALS)
    errors.push(String(err).split("\n")[0]);
  }
  const seen = { status: statuses[0], errors };
  if (credentials) {
    const deadline = Date.now() + 60000;
    while (!(await page.innerText("body")).includes(waitFor) && Date.now() < deadline) await page.waitForTimeout(1000);
    await page.screenshot({ path: screenshot });
    seen.text = await page.innerText("body");
  }
  await context.close();
  return seen;
}

async function main() {
  const [url, screenshot, waitFor] = process.argv.slice(2);
  const password = fs.readFileSync(0, "utf8").trim();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  try {
    const withLogin = await visit(browser, url, { username: "dq", password }, screenshot, waitFor);
    const without = await visit(browser, url, undefined, screenshot, waitFor);
    console.log(JSON.stringify({ with_login: withLogin, without }));
  } finally {
    await browser.close();
  }
}

main().catch(err => { console.error(err); process.exit(1); });
