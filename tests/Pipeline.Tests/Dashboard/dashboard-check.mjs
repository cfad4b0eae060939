// Opens the coordinator dashboard in headless chromium while a job runs, and reports what a person would see:
// the numbers at first sight and a few seconds later, the histogram bars, every URL the page loaded, console errors.
// Usage: node dashboard-check.mjs <dashboard url> <screenshot.png> [chromium path] [mode [token]]
// mode "reload": once the chart has a sample, reload the page mid-job, read the events and the chart, then wait for the
// job to end and read what the page shows for it. mode "cancel": press the cancel button, answer the token prompt with
// <token>, and read what the page shows once the job is cancelled.
// Prints one JSON object on stdout; DashboardTests asserts on it.
import { chromium } from "playwright-core";

const [url, screenshot, executable = "/usr/bin/chromium", mode = "live", token = ""] = process.argv.slice(2);
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
  result.dialogs = [];
  page.on("dialog", (d) => { result.dialogs.push(d.type()); d.accept(d.type() === "prompt" ? token : undefined); });

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
    rateLabel: document.getElementById("rate-label").textContent,
    elapsedLabel: document.getElementById("elapsed-label").textContent,
    elapsed: document.getElementById("elapsed").textContent,
    chartPoints: Number(document.getElementById("rate-history").dataset.points || 0),
    chartLines: document.querySelectorAll("#rate-history polyline").length,
    yTicks: [...document.querySelectorAll("#rate-history .y-tick")].map((t) => t.textContent),
    xTicks: [...document.querySelectorAll("#rate-history .x-tick")].map((t) => t.textContent),
    axisTitles: [...document.querySelectorAll("#rate-history text")].map((t) => t.textContent),
    events: [...document.querySelectorAll("#events li")].map((li) => ({ at: li.dataset.at, text: li.textContent })),
    models: [...document.querySelectorAll("#workers tbody tr")].map((r) => r.cells[6].textContent),
    cancelShown: !document.getElementById("cancel").hidden,
    cancelResult: document.getElementById("cancel-result").textContent,
  }));
  const ended = () => page.waitForFunction(() => ["succeeded", "failed", "cancelled"].includes(document.body.dataset.state),
    null, { timeout: 60000 });
  if (mode === "reload") {
    await page.waitForFunction(() => Number(document.getElementById("rate-history").dataset.points || 0) >= 1, null, { timeout: 30000 });
    result.beforeReload = await read();
    result.reloadedAt = new Date().toISOString();
    await page.reload({ waitUntil: "load", timeout: 15000 });
    await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 1, null, { timeout: 15000 });
    result.afterReload = await read();
    await ended();
    // one more poll, so the page shows the finished job's figures
    const seen = Number(await page.evaluate(() => document.body.dataset.updates));
    await page.waitForFunction((n) => Number(document.body.dataset.updates) > n, seen, { timeout: 15000 });
    result.end = await read();
    await page.screenshot({ path: screenshot, fullPage: true });
    await browser.close();
    console.log(JSON.stringify(result));
    process.exit(0);
  }
  if (mode === "cancel") {
    await page.waitForFunction(() => !document.getElementById("cancel").hidden, null, { timeout: 15000 });
    await page.click("#cancel");
    await ended();
    await page.waitForFunction(() => document.getElementById("cancel-result").textContent !== "", null, { timeout: 15000 });
    result.end = await read();
    await browser.close();
    console.log(JSON.stringify(result));
    process.exit(0);
  }
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
