// Opens the coordinator dashboard in headless chromium while a job runs, and reports what a person would see:
// the numbers at first sight and a few seconds later, the histogram bars, every URL the page loaded, console errors.
// Usage: node dashboard-check.mjs <dashboard url> <screenshot.png> [chromium path]
// Prints one JSON object on stdout; DashboardTests asserts on it.
import { chromium } from "playwright-core";

const [url, screenshot, executable = "/usr/bin/chromium"] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error("usage: node dashboard-check.mjs <url> <screenshot.png> [chromium]");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: executable,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { requests: [], consoleErrors: [], pageErrors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on("request", (r) => result.requests.push(r.url()));
  page.on("console", (m) => { if (m.type() === "error") result.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => result.pageErrors.push(String(e)));

  await page.goto(url, { waitUntil: "load", timeout: 15000 });
  await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 1, null, { timeout: 15000 });
  const read = () => page.evaluate(() => ({
    state: document.getElementById("state").textContent,
    jobId: document.getElementById("job-id").textContent,
    imagesDone: document.getElementById("images-done").textContent,
    imagesTotal: document.getElementById("images-total").textContent,
    progress: document.getElementById("progress-pct").textContent,
    rate: document.getElementById("rate").textContent,
    eta: document.getElementById("eta").textContent,
    committed: document.getElementById("partitions-committed").textContent,
    workers: [...document.querySelectorAll("#workers tbody tr")].map((r) => r.dataset.worker),
    histogramCharts: document.querySelectorAll("#histograms .histogram").length,
    histogramBars: document.querySelectorAll("#histograms .histogram rect").length,
    connection: document.getElementById("connection").textContent,
    updates: Number(document.body.dataset.updates || 0),
  }));
  result.first = await read();
  // the page must change by itself (no reload): wait for the images counter to move
  const first = result.first.imagesDone;
  await page.waitForFunction((before) => document.getElementById("images-done").textContent !== before, first, { timeout: 20000 })
    .catch(() => {});
  // and for the histograms to fill in as partitions commit
  await page.waitForFunction(() => document.querySelectorAll("#histograms .histogram rect").length > 0, null, { timeout: 20000 })
    .catch(() => {});
  result.later = await read();
  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
