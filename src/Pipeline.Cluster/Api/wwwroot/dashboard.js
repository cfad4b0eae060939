// The coordinator's live dashboard: polls GET /jobs/current every second (and GET /jobs every few) and redraws from its JSON.
// Plain script, no build step, nothing loaded from elsewhere.
"use strict";

// The event log and the throughput series come from the coordinator (each event at its real time), so a reload shows
// the whole job as it happened.
const POLL_MS = 1000;
const SVG = "http://www.w3.org/2000/svg";
const STALE_HEARTBEAT_S = 5;
const SHOWN_EVENTS = 50;
const ACTIVE = new Set(["queued", "planning", "running"]);

let updates = 0;
let current = null;          // the last status shown

const $ = (id) => document.getElementById(id);
const fmt = new Intl.NumberFormat("en-US");
const fmt1 = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

// the token lives in this tab's sessionStorage only: gone when the tab closes, never sent anywhere but this coordinator
function token() { return sessionStorage.getItem("pipeline-token"); }

const JOBS_EVERY = 3;         // polls between two reads of the job list

async function fetchStatus(path = "jobs/current") {
  const headers = { "Accept": "application/json" };
  const t = token();
  if (t) headers["Authorization"] = "Bearer " + t;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 5000);
  try {
    const response = await fetch(path, { headers, signal: abort.signal, cache: "no-store" });
    if (response.status === 401) return { unauthorized: true };
    const body = await response.json();
    if (!response.ok) return { problem: body.detail || body.title || ("HTTP " + response.status) };
    return { status: body };
  } finally {
    clearTimeout(timer);
  }
}

function svgEl(name, attrs, parent) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

function renderProgress(s) {
  $("job-id").textContent = s.job_id || "no job";
  const badge = $("state");
  badge.textContent = s.state;
  badge.className = "badge state-" + s.state;
  const pct = Math.round(s.progress * 1000) / 10;
  $("progress-fill").style.width = pct + "%";
  $("progress-pct").textContent = pct + "%";
  $("progress-bar").setAttribute("aria-valuenow", String(pct));
  $("images-done").textContent = fmt.format(s.images_done);
  $("images-total").textContent = fmt.format(s.images);
  // a finished job shows what it averaged over its wall time, not a recent rate decaying to 0
  $("rate-label").textContent = s.finished ? "average throughput" : "throughput";
  $("rate").textContent = fmt1.format(s.finished ? s.average_images_per_second : s.images_per_second);
  $("eta").textContent = s.finished ? (s.state === "succeeded" ? "done" : s.state) : duration(s.eta_seconds);
  $("elapsed-label").textContent = s.finished ? "wall time" : "elapsed";
  $("elapsed").textContent = duration(s.elapsed_seconds);
  $("cancel").hidden = !(s.job_id && ACTIVE.has(s.state));
  $("rows").textContent = fmt.format(s.rows);
  $("quarantined").textContent = fmt.format(s.quarantined);
  $("output").textContent = s.output || "";
  const dataset = $("dataset");
  dataset.hidden = !s.dataset;
  dataset.textContent = s.dataset ? "dataset written to " + s.dataset : "";

  const parts = s.partitions;
  $("partitions-committed").textContent = parts.committed;
  $("partitions-inflight").textContent = parts.in_flight;
  $("partitions-queued").textContent = parts.queued;
  $("partitions-total").textContent = parts.total;
  const bar = $("partition-bar");
  clear(bar);
  if (parts.total > 0) {
    let x = 0;
    for (const [count, cls] of [[parts.committed, "var(--committed)"], [parts.in_flight, "var(--inflight)"], [parts.queued, "var(--queued)"]]) {
      const w = (count / parts.total) * 1000;
      if (w > 0) svgEl("rect", { x, y: 0, width: w, height: 18, fill: cls }, bar);
      x += w;
    }
  }
}

// the coordinator's throughput series: x is the time of day, y images/s, both axes labelled
function renderHistory(s) {
  const chart = $("rate-history");
  clear(chart);
  const series = s.throughput.map((p) => ({ t: Date.parse(p.at) / 1000, rate: p.images_per_second, seconds: p.seconds }));
  $("rate-history").dataset.points = String(series.length);
  const W = 600, H = 160, left = 58, right = 10, top = 8, bottom = 30;
  const max = Math.max(1, ...series.map((p) => p.rate)) * 1.1;
  const t0 = series.length ? series[0].t - series[0].seconds : 0;
  const t1 = series.length ? series[series.length - 1].t : 1;
  const span = Math.max(1, t1 - t0);
  const x = (t) => left + ((t - t0) / span) * (W - left - right);
  const y = (rate) => H - bottom - (rate / max) * (H - top - bottom);
  svgEl("line", { x1: left, x2: left, y1: top, y2: H - bottom, stroke: "#cbd5e0" }, chart);
  svgEl("line", { x1: left, x2: W - right, y1: H - bottom, y2: H - bottom, stroke: "#cbd5e0" }, chart);
  for (const v of [0, max / 2, max]) {
    svgEl("text", { x: left - 4, y: y(v) + 3, "text-anchor": "end", class: "axis y-tick" }, chart).textContent = fmt1.format(v);
  }
  const yTitle = svgEl("text", { x: 10, y: (H - bottom + top) / 2, "text-anchor": "middle", class: "axis",
    transform: `rotate(-90 10 ${(H - bottom + top) / 2})` }, chart);
  yTitle.textContent = "images/s";
  if (series.length) {
    for (const [t, anchor] of [[t0, "start"], [(t0 + t1) / 2, "middle"], [t1, "end"]]) {
      svgEl("text", { x: x(t), y: H - bottom + 13, "text-anchor": anchor, class: "axis x-tick" }, chart).textContent =
        new Date(t * 1000).toLocaleTimeString();
    }
  }
  svgEl("text", { x: (left + W - right) / 2, y: H - 3, "text-anchor": "middle", class: "axis" }, chart).textContent = "time";
  const points = [`${x(t0).toFixed(1)},${y(series.length ? series[0].rate : 0).toFixed(1)}`]
    .concat(series.map((p) => `${x(p.t).toFixed(1)},${y(p.rate).toFixed(1)}`));
  if (series.length) {
    svgEl("polyline", { points: points.join(" "), fill: "none", stroke: "var(--train)", "stroke-width": 2 }, chart);
  }
  $("rate-max").textContent = fmt1.format(Math.max(0, ...series.map((p) => p.rate)));
}

function renderWorkers(s) {
  const body = $("workers").querySelector("tbody");
  clear(body);
  $("worker-count").textContent = s.workers.length ? `(${s.workers.length})` : "";
  $("no-workers").hidden = s.workers.length > 0;
  const fastest = Math.max(1, ...s.workers.map((w) => w.images_per_second));
  for (const w of s.workers) {
    const row = body.insertRow();
    row.dataset.worker = w.worker;
    row.insertCell().textContent = w.worker;
    row.insertCell().textContent = w.roles.join(", ");
    row.insertCell().textContent = w.partitions;
    row.insertCell().textContent = fmt.format(w.images_done);
    const barCell = row.insertCell();
    const track = document.createElement("div");
    track.className = "rate-track";
    const fill = document.createElement("div");
    fill.className = "rate-fill" + (w.roles.includes("gpu") ? " gpu" : "");
    fill.style.width = ((w.images_per_second / fastest) * 100).toFixed(1) + "%";
    track.appendChild(fill);
    const value = document.createElement("span");
    value.className = "rate-value";
    value.textContent = fmt1.format(w.images_per_second);
    barCell.append(track, value);
    const beat = row.insertCell();
    beat.textContent = fmt1.format(w.heartbeat_age_seconds) + " s ago";
    if (w.heartbeat_age_seconds > STALE_HEARTBEAT_S) beat.className = "stale";
    row.insertCell().textContent = describeModel(w.embedding);
    row.insertCell().textContent = describeStages(w.stages);
  }
}

// the GPU view: how long the worker's model ran batches and sat idle (since the worker started)
function describeModel(e) {
  if (!e) return "–";
  return `${e.device}: busy ${duration(e.model_busy_seconds)} · idle ${duration(e.model_idle_seconds)}`;
}

// the worker's pipeline stages: busy share of each (read, decode, embed, write) and the bottleneck, the busiest
function describeStages(figures) {
  if (!figures || !figures.stages.length) return "–";
  const parts = figures.stages.map((st) => `${st.stage} ${Math.round(st.utilisation * 100)}%`);
  return parts.join(" · ") + (figures.bottleneck ? ` → ${figures.bottleneck}` : "");
}

function renderErrors(s) {
  const error = $("job-error");
  error.hidden = !s.error;
  error.textContent = s.error || "";
  const body = $("quarantine").querySelector("tbody");
  clear(body);
  const kinds = Object.entries(s.quarantine_by_kind).sort((a, b) => b[1] - a[1]);
  $("no-quarantine").hidden = kinds.length > 0;
  for (const [kind, count] of kinds) {
    const row = body.insertRow();
    row.insertCell().textContent = kind;
    row.insertCell().textContent = fmt.format(count);
  }
  const list = $("events");
  clear(list);
  // newest first, each at the time the coordinator recorded it
  for (const e of s.events.slice(-SHOWN_EVENTS).reverse()) {
    const li = document.createElement("li");
    li.dataset.at = e.at;
    const time = document.createElement("time");
    time.dateTime = e.at;
    time.textContent = new Date(e.at).toLocaleTimeString();
    li.append(time, " " + e.text);
    if (e.kind === "bad") li.className = "stale";
    list.appendChild(li);
  }
}

function renderHistograms(s) {
  const root = $("histograms");
  // one chart per super-class: train and val bars side by side, each as a share of that split's boxes
  const bySuper = new Map();
  for (const h of s.histograms) {
    if (!bySuper.has(h.supercategory)) bySuper.set(h.supercategory, []);
    bySuper.get(h.supercategory).push(h);
  }
  const supers = [...bySuper.keys()].filter((k) => bySuper.get(k).some((h) => h.boxes > 0)).sort();
  $("no-histograms").hidden = supers.length > 0;
  clear(root);
  for (const name of supers) {
    const series = bySuper.get(name).filter((h) => h.boxes > 0).sort((a, b) => a.split.localeCompare(b.split));
    const card = document.createElement("div");
    card.className = "histogram";
    card.dataset.supercategory = name;
    const title = document.createElement("h4");
    const label = document.createElement("span");
    label.textContent = name;
    const total = document.createElement("span");
    total.className = "muted small boxes";
    total.textContent = series.map((h) => `${h.split} ${fmt.format(h.boxes)}`).join(" · ") + " boxes";
    title.appendChild(label);
    card.append(title, total);
    const W = 300, H = 120, left = 4, bottom = 16, top = 4;
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${name} relative box sizes` }, card);
    const bins = Math.max(...series.map((h) => h.counts.length));
    let peak = 0;
    for (const h of series) for (const c of h.counts) peak = Math.max(peak, c / h.boxes);
    const slot = (W - left * 2) / bins;
    const barWidth = slot / Math.max(1, series.length);
    series.forEach((h, si) => {
      const color = h.split === "val" ? "var(--val)" : "var(--train)";
      h.counts.forEach((c, i) => {
        if (c === 0) return;
        const share = c / h.boxes;
        const height = (share / (peak || 1)) * (H - bottom - top);
        const bar = svgEl("rect", { x: left + i * slot + si * barWidth, y: H - bottom - height, width: Math.max(0.5, barWidth - 0.3), height, fill: color }, svg);
        svgEl("title", {}, bar).textContent = `${h.split} ${h.bin_edges[i]}–${h.bin_edges[i + 1]}: ${(share * 100).toFixed(1)}% (${fmt.format(c)})`;
      });
    });
    svgEl("line", { x1: left, x2: W - left, y1: H - bottom, y2: H - bottom, stroke: "#cbd5e0" }, svg);
    for (const [x, text, anchor] of [[left, "0", "start"], [W / 2, "0.5", "middle"], [W - left, "1", "end"]]) {
      svgEl("text", { x, y: H - 3, "text-anchor": anchor, class: "axis" }, svg).textContent = text;
    }
    root.appendChild(card);
  }
}

function renderJobs(jobs) {
  const body = $("jobs").querySelector("tbody");
  clear(body);
  $("no-jobs").hidden = jobs.length > 0;
  $("job-count").textContent = jobs.length ? `(${jobs.length})` : "";
  for (const j of jobs) {
    const row = body.insertRow();
    row.dataset.job = j.job_id;
    row.insertCell().textContent = j.job_id;
    row.cells[0].className = "mono";
    const state = row.insertCell();
    state.textContent = j.state;
    state.className = "badge state-" + j.state;
    row.insertCell().textContent = `${j.partitions.committed}/${j.partitions.total}`;
    row.insertCell().textContent = `${fmt.format(j.images_done)}/${fmt.format(j.images)}`;
    row.insertCell().textContent = j.submitted_at ? new Date(j.submitted_at).toLocaleString() : "";
    row.insertCell().textContent = duration(j.elapsed_seconds);
    const last = row.insertCell();
    last.textContent = j.error || j.dataset || j.output || "";
    if (j.error) last.className = "error";
  }
}

function renderWaiting(s) {
  const el = $("waiting");
  const text = [s.waiting, s.warning ? "warning: " + s.warning : null].filter(Boolean).join(" · ");
  el.hidden = !text;
  el.textContent = text;
}

function render(s) {
  current = s;
  renderProgress(s);
  renderHistory(s);
  renderWorkers(s);
  renderErrors(s);
  renderHistograms(s);
  renderWaiting(s);
  updates++;
  document.body.dataset.updates = String(updates);
  document.body.dataset.state = s.state;
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
}

function setConnection(text, live) {
  const el = $("connection");
  el.textContent = text;
  el.className = "conn " + (live ? "live" : "down");
}

async function poll() {
  try {
    const result = await fetchStatus();
    if (result.unauthorized) {
      $("token-form").hidden = false;
      setConnection("token needed", false);
    } else if (result.problem) {
      setConnection(result.problem, false);
    } else {
      $("token-form").hidden = true;
      setConnection("live", true);
      render(result.status);
      if (updates % JOBS_EVERY === 1) {
        const list = await fetchStatus("jobs");
        if (list.status) renderJobs(list.status);
      }
    }
  } catch (e) {
    setConnection("coordinator unreachable", false);
  }
  setTimeout(poll, POLL_MS);
}

// cancel the shown job: DELETE /jobs/{id} with the token (asked for here when the page has none; kept for this tab only)
$("cancel").addEventListener("click", async () => {
  if (!current || !current.job_id) return;
  if (!confirm(`Cancel job ${current.job_id}?`)) return;
  let t = token();
  for (let attempt = 0; attempt < 2; attempt++) {
    if (!t) {
      t = prompt("Bearer token of this coordinator (needed to cancel)");
      if (!t) return;
      sessionStorage.setItem("pipeline-token", t.trim());
      t = t.trim();
    }
    const response = await fetch("jobs/" + encodeURIComponent(current.job_id), {
      method: "DELETE", headers: { "Accept": "application/json", "Authorization": "Bearer " + t }, cache: "no-store",
    });
    if (response.status === 401 || response.status === 403) { sessionStorage.removeItem("pipeline-token"); t = null; continue; }
    const body = await response.json().catch(() => ({}));
    $("cancel-result").hidden = false;
    $("cancel-result").textContent = response.ok ? `job ${current.job_id} cancelled` : (body.detail || body.title || "HTTP " + response.status);
    return;
  }
});

$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem("pipeline-token", $("token-input").value.trim());
  $("token-input").value = "";
});

poll();
