// Loads each dashboard of the native page in headless Chromium (Debian's, driven by
// playwright-core), waits until every panel has drawn data points (or 90 s), saves a
// screenshot per dashboard, and prints what it saw as JSON on stdout:
//   {"<uid>": {"panels": {"<title>": {"state": "ok", "points": 42}}, "errors": [...]}}
// usage: node dashboards.cjs BASE_URL OUT_DIR --sensor=ID UID... (NODE_PATH: the project's node_modules)
"use strict";
const { chromium } = require("playwright-core");

async function main() {
  const [base, outDir, sensorArg, ...uids] = process.argv.slice(2);
  const sensor = sensorArg.replace(/^--sensor=/, "");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const seen = {};
  try {
    for (const uid of uids) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors = [];
      page.on("console", msg => { if (msg.type() === "error") errors.push(msg.text()); });
      page.on("pageerror", err => errors.push(String(err)));
      await page.goto(`${base}/?dashboard=${uid}&range=3600&sensor=${encodeURIComponent(sensor)}`);
      const drawn = () => page.evaluate(() => {
        const panels = [...document.querySelectorAll(".panel")];
        return panels.length > 0 && panels.every(p => p.dataset.state === "ok");
      });
      const deadline = Date.now() + 90000;
      while (!(await drawn()) && Date.now() < deadline) await page.waitForTimeout(1000);
      await page.waitForTimeout(500); // the charts' last paint
      await page.screenshot({ path: `${outDir}/${uid}.png`, fullPage: true });
      const panels = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll(".panel")].map(
        p => [p.dataset.title, { state: p.dataset.state, points: +p.dataset.points,
                                 text: p.querySelector(".note")?.textContent || "" }])));
      seen[uid] = { panels, errors };
      await page.close();
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(seen));
}

main().catch(err => { console.error(err); process.exit(1); });
