// engagement-pipeline dashboard. Every value from the pipeline becomes text (textContent), never
// markup; styles are set through the CSSOM: the page runs under a strict Content-Security-Policy.
// States are told by a word and a symbol as well as by colour; charts carry a text description.
"use strict";
const RATE = [["source", "captured", "--c1"], ["enriched", "enriched", "--c2"], ["redis", "Redis", "--c3"],
  ["warehouse", "warehouse", "--c4"], ["http", "external API", "--c5"], ["invalid", "invalid", "--c6"]];
const LAT = [["source", "source", "--c1"], ["processor", "processor", "--c2"], ["redis", "Redis", "--c3"],
  ["warehouse", "warehouse", "--c4"], ["http", "external API", "--c5"]];
const STATE = {
  healthy: ["✓", "ok"], connected: ["✓", "ok"], closed: ["✓", "ok"],
  degraded: ["▲", "warn"], half_open: ["▲", "warn"], connecting: ["…", "warn"], not_reporting: ["?", "warn"],
  unhealthy: ["✕", "bad"], disconnected: ["✕", "bad"], stalled: ["✕", "bad"], open: ["✕", "bad"], unreachable: ["✕", "bad"],
  not_used: ["–", "dim"]
};
const SVG = "http://www.w3.org/2000/svg";
const H = 220, PAD_L = 48, PAD_R = 12, PAD_T = 12, PAD_B = 26;
const css = v => getComputedStyle(document.documentElement).getPropertyValue(v).trim();
const fmt = n => n == null || isNaN(n) ? "–" : Number(n).toLocaleString("en-US", {maximumFractionDigits: 1});
const byId = id => document.getElementById(id);
let topWindow = "10m";

/** An element with text and attributes; children appended in order. */
function el(tag, text, attrs, ...children) {
  const e = document.createElement(tag);
  if (text != null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  children.forEach(c => e.appendChild(c));
  return e;
}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text != null) e.textContent = String(text);
  return e;
}

/** A state as symbol and word, coloured by class: never by colour alone. */
function stateTag(state) {
  const s = String(state || "unknown");
  const [symbol, cls] = STATE[s] || ["?", "warn"];
  return el("span", symbol + " " + s.replace("_", " "), {class: "state " + cls, "data-state": s});
}

function clock(t) {
  return new Date(t).toLocaleTimeString("en-GB", {hour: "2-digit", minute: "2-digit", second: "2-digit"});
}

function bytes(n) {
  if (n == null || n < 0) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function niceMax(v) {
  const e = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * e) return m * e;
  return v;
}

/**
 * A line chart drawn at the SVG's own pixel size (so text never stretches), with a time axis,
 * a value axis, anomaly marks and a text description of what it shows now.
 */
function chart(svg, legend, desc, series, points, pick, marks, unit) {
  const W = Math.max(240, Math.round(svg.getBoundingClientRect().width || 800));
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const keep = svg.querySelector("desc");
  svg.replaceChildren(keep);
  const plotW = W - PAD_L - PAD_R, plotH = H - PAD_T - PAD_B;
  const now = points.length ? points[points.length - 1].t : Date.now();
  const t0 = now - 300000;
  let max = 1;
  for (const p of points) for (const [k] of series) { const v = pick(p, k); if (v != null && v > max) max = v; }
  max = niceMax(max);
  const x = t => PAD_L + plotW * (t - t0) / 300000;
  const y = v => PAD_T + plotH - plotH * v / max;
  for (let i = 0; i <= 4; i++) {
    const yy = y(max * i / 4);
    svg.appendChild(svgEl("line", {x1: PAD_L, x2: W - PAD_R, y1: yy, y2: yy, stroke: css("--line"), "stroke-width": 1}));
    svg.appendChild(svgEl("text", {x: PAD_L - 6, y: yy + 4, fill: css("--dim"), "font-size": 11, "text-anchor": "end"},
      fmt(max * i / 4)));
  }
  const step = plotW / 5 >= 64 ? 60000 : 120000;
  for (let t = Math.ceil(t0 / step) * step; t <= now; t += step) {
    svg.appendChild(svgEl("line", {x1: x(t), x2: x(t), y1: PAD_T + plotH, y2: PAD_T + plotH + 4, stroke: css("--dim")}));
    svg.appendChild(svgEl("text", {x: x(t), y: H - 6, fill: css("--dim"), "font-size": 11, "text-anchor": "middle"}, clock(t)));
  }
  for (const m of marks || []) {
    if (m.at < t0) continue;
    const line = svgEl("line", {x1: x(m.at), x2: x(m.at), y1: PAD_T, y2: PAD_T + plotH,
      stroke: css(m.raised ? "--bad" : "--ok"), "stroke-width": 1.5, "stroke-dasharray": "4 3", class: "mark"});
    line.appendChild(svgEl("title", {}, (m.raised ? "raised: " : "ended: ") + m.kind + (m.subject ? " " + m.subject : "")));
    svg.appendChild(line);
    svg.appendChild(svgEl("text", {x: x(m.at) + 3, y: PAD_T + 10, fill: css(m.raised ? "--bad" : "--ok"), "font-size": 11},
      (m.raised ? "! " : "✓ ") + m.kind.replace("_", " ")));
  }
  for (const [k, , color] of series) {
    const pts = points.filter(p => p.t >= t0 && pick(p, k) != null)
      .map(p => `${x(p.t).toFixed(1)},${y(pick(p, k)).toFixed(1)}`);
    if (pts.length) svg.appendChild(svgEl("polyline", {fill: "none", stroke: css(color), "stroke-width": 2, points: pts.join(" ")}));
  }
  const last = points.length ? points[points.length - 1] : null;
  legend.replaceChildren(...series.map(([k, label, color]) => {
    const swatch = el("i");
    swatch.style.background = css(color);
    const v = last ? pick(last, k) : null;
    return el("span", null, {}, swatch, document.createTextNode(label + " " + fmt(v)));
  }));
  const words = last ? series.map(([k, label]) => `${label} ${fmt(pick(last, k))}`).join(", ") : "no data yet";
  const raised = (marks || []).filter(m => m.raised && m.at >= t0).map(m => `${m.kind} at ${clock(m.at)}`);
  desc.textContent = `Last 5 minutes; now ${words} ${unit}.` + (raised.length ? ` Anomalies raised: ${raised.join(", ")}.` : "");
}

/** Each rate as the mean of the last {@code n} seconds: stages work in batches, a second alone is jagged. */
function smooth(points, n) {
  return points.map((p, i) => {
    const out = {t: p.t};
    for (const [k] of RATE) {
      const window = points.slice(Math.max(0, i - n + 1), i + 1).map(x => x[k]).filter(v => v != null);
      out[k] = window.length ? window.reduce((a, v) => a + v, 0) / window.length : null;
    }
    return out;
  });
}

function services(list, svc) {
  list.replaceChildren(...Object.keys(svc || {}).map(name => {
    const s = svc[name];
    const who = s.instances > 1 ? ` (worst of ${s.instances} processes: ${s.instance})` : "";
    return el("li", null, {"data-service": name, "data-state": s.state},
      el("div", null, {class: "row"}, el("span", name, {class: "name"}), stateTag(s.state)),
      el("small", (s.detail || "") + who));
  }));
}

function instances(list, items) {
  list.replaceChildren(...(items || []).map(i => {
    const parts = Object.entries(i.partitions || {}).map(([k, v]) => `${k} ${Array.isArray(v) ? "[" + v.join(",") + "]" : v}`);
    return el("li", null, {"data-instance": i.instance},
      el("div", null, {class: "row"}, el("span", i.instance, {class: "name"}), stateTag(i.status)),
      el("small", (i.components || []).join(", ") + (parts.length ? " · " + parts.join(" · ") : "")
        + (i.status === "not_reporting" ? ` · silent for ${Math.round(i.last_seen_ms_ago / 1000)} s` : "")));
  }));
}

function table(tableEl, head, rows, empty) {
  if (!rows.length) { tableEl.replaceChildren(el("tr", null, {}, el("td", empty, {class: "empty"}))); return; }
  tableEl.replaceChildren(el("tr", null, {}, ...head.map(([h, num]) => el("th", h, num ? {class: "num"} : {}))),
    ...rows.map(r => el("tr", null, r.attrs || {}, ...r.cells.map(([v, num]) =>
      v instanceof Node ? el("td", null, {}, v) : el("td", v, num ? {class: "num"} : {})))));
}

function latencyTable(lat) {
  table(byId("latency"), [["Stage"], ["p50", true], ["p99", true]],
    LAT.filter(([k]) => lat[k]).map(([k, label]) => ({attrs: {"data-stage": k},
      cells: [[label], [fmt(lat[k].p50), true], [fmt(lat[k].p99), true]]})), "No events measured yet");
}

function backlog(b, pipelineSeries) {
  const groups = (b.groups || []).filter(g => g.state !== "empty" && g.state !== "dead");
  table(byId("lag"), [["Group"], ["State"], ["Behind", true]],
    groups.map(g => ({attrs: {"data-group": g.group}, cells: [[g.stage + " · " + g.group.replace("engagement-", "")],
      [el("span", g.state, {class: "state dim"})], [fmt(g.lag), true]]})),
    b.problem ? "Unknown: " + b.problem : "No consumer group has members");
  const total = groups.reduce((a, g) => a + g.lag, 0);
  byId("k-lag").textContent = groups.length ? fmt(total) : "–";
  const slot = b.slot;
  const slotText = !slot ? "Replication slot: not measured" + (b.problem ? " (" + b.problem + ")" : "")
    : !slot.exists ? `Replication slot ${slot.name}: missing`
      : `Replication slot ${slot.name}: ${slot.active ? "active" : "inactive"}, ${bytes(slot.lag_bytes)} behind, WAL ${slot.wal_status || "?"}`;
  byId("slot").textContent = slotText;
  byId("k-slot").textContent = slot && slot.exists ? bytes(slot.lag_bytes) : "–";
  byId("k-slot-sub").textContent = slot ? (slot.exists ? (slot.active ? "slot active" : "slot inactive") : "slot missing") : "not measured";
}

function externalApi(p, b) {
  const list = byId("breakers");
  const breakers = p.breakers || [];
  list.replaceChildren(...(breakers.length ? breakers.map(x => el("li", null, {"data-breaker": x.instance, "data-state": x.state},
    el("div", null, {class: "row"}, el("span", "breaker · " + x.instance, {class: "name"}), stateTag(x.state))))
    : [el("li", "No process delivers to the API", {class: "empty"})]));
  const dl = p.dead_letters || {};
  const waiting = b.dead_letters != null ? b.dead_letters : dl.in_topic;
  table(byId("dlq"), [["Dead letters"], ["", true]], [
    {cells: [["waiting in sink.http.dlq"], [fmt(waiting), true]]},
    {cells: [["sent, last 5 min"], [fmt(dl.sent_recently), true]]},
    {cells: [["sent since the processes started"], [fmt(dl.sent_since_start), true]]}], "");
  byId("k-dlq").textContent = fmt(waiting);
}

function invalidTable(inv) {
  const recent = inv.recently || {}, total = inv.since_start || {};
  const reasons = Object.keys(total).filter(r => total[r] > 0 || recent[r] > 0);
  table(byId("invalid"), [["Reason"], ["5 min", true], ["since start", true]],
    reasons.map(r => ({attrs: {"data-reason": r}, cells: [[r.replace(/_/g, " ")], [fmt(recent[r]), true], [fmt(total[r]), true]]})),
    "None");
  byId("k-invalid").textContent = fmt(Object.values(recent).reduce((a, v) => a + v, 0));
}

function quality(q) {
  const summary = q.rate == null ? "No processor reports."
    : q.rate_baseline == null ? `Event rate ${fmt(q.rate)}/s; baselines warming up (${q.baseline_buckets} of ${q.warmup_buckets} buckets).`
      : `Event rate ${fmt(q.rate)}/s against a baseline of ${fmt(q.rate_baseline)}/s.`;
  byId("quality-summary").textContent = summary;
  const anomalies = q.anomalies || [];
  byId("anomalies").replaceChildren(...(anomalies.length ? anomalies.map(a => el("li", null,
    {"data-anomaly": a.kind, "data-subject": a.subject || ""},
    el("div", null, {class: "row"}, el("span", a.kind.replace(/_/g, " ") + (a.subject ? " · " + a.subject : ""), {class: "name"}),
      el("span", "! anomaly", {class: "state bad"})),
    el("small", a.detail + " (since " + clock(a.since) + ")")))
    : [el("li", "✓ no anomaly", {class: "empty", "data-anomaly": "none"})]));
  const marks = (q.marks || []).slice(-8).reverse();
  byId("marks").replaceChildren(...(marks.length ? marks.map(m => el("li", null, {},
    el("small", `${clock(m.at)} ${m.raised ? "! raised" : "✓ ended"} ${m.kind}${m.subject ? " " + m.subject : ""}: ${m.detail}`)))
    : [el("li", "None in the last 5 minutes", {class: "empty"})]));
}

function topTable(items) {
  const tableEl = byId("top");
  if (!items || !items.length) { tableEl.replaceChildren(el("tr", null, {}, el("td", "No engagement yet", {class: "empty"}))); return; }
  const max = Math.max(...items.map(i => Number(i.engagement_seconds)), 0.001);
  const head = el("tr", null, {}, el("th", "#"), el("th", "Title"), el("th", "Engagement", {class: "num"}), el("th", null, {class: "barcol"}));
  tableEl.replaceChildren(head, ...items.map(i => {
    const bar = el("div", null, {class: "bar"});
    bar.style.width = (100 * i.engagement_seconds / max).toFixed(1) + "%";
    return el("tr", null, {"data-content": i.content_id, "data-seconds": String(i.engagement_seconds)},
      el("td", i.rank), el("td", i.title || i.content_id, {title: i.content_id}),
      el("td", fmtDuration(i.engagement_seconds), {class: "num"}), el("td", null, {"aria-hidden": "true"}, bar));
  }));
}

function fmtDuration(s) {
  s = Number(s);
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return (s / 60).toFixed(1) + " min";
  return (s / 3600).toFixed(1) + " h";
}

function status(state) {
  const st = byId("status");
  const [symbol, cls] = STATE[state] || ["?", "warn"];
  st.textContent = symbol + " " + state;
  st.className = "badge " + cls;
  st.dataset.state = state;
}

async function refresh() {
  try {
    const r = await fetch("/api/dashboard", {cache: "no-store"});
    const d = await r.json();
    const p = d.pipeline || {};
    status(p.status || d.health.status);
    const t = d.totals || {};
    byId("k-events").textContent = fmt(t.events);
    byId("k-eng").textContent = t.engagement_seconds != null ? fmtDuration(t.engagement_seconds) + " of engagement" : "Redis does not answer";
    const s = p.series || [];
    const recent = s.slice(-5);
    byId("k-rate").textContent = recent.length ? fmt(recent.reduce((a, x) => a + (x.redis || 0), 0) / recent.length) : "–";
    const lat = p.latency_ms || {};
    byId("k-p99").textContent = lat.redis ? fmt(lat.redis.p99) + " ms" : "–";
    byId("k-p50").textContent = lat.redis ? "p50 " + fmt(lat.redis.p50) + " ms" : "no event yet";
    const last = p.last_processed || d.health.last_processed;
    byId("k-last").textContent = last ? clock(last) : "–";
    byId("k-ago").textContent = last ? ((Date.now() - new Date(last)) / 1000).toFixed(1) + " s ago" : "";
    const q = p.quality || {};
    chart(byId("rate-chart"), byId("rate-legend"), byId("rate-desc"), RATE, smooth(s, 3), (x, k) => x[k], q.marks, "events/s");
    chart(byId("lat-chart"), byId("lat-legend"), byId("lat-desc"), LAT, s, (x, k) => (x.p99_ms || {})[k], [], "ms p99");
    services(byId("services"), p.services);
    instances(byId("instances"), p.instances);
    latencyTable(lat);
    backlog(p.backlog || {}, s);
    externalApi(p, p.backlog || {});
    invalidTable(p.invalid || {});
    quality(q);
    byId("updated").textContent = "updated " + clock(Date.now());
  } catch (e) {
    status("unreachable");
  }
}

async function refreshTop() {
  try {
    const r = await fetch("/api/top?limit=10&window=" + encodeURIComponent(topWindow), {cache: "no-store"});
    topTable((await r.json()).items);
    byId("top").dataset.window = topWindow;
  } catch (e) {
    // the next refresh tries again; the status badge says when the server is unreachable
  }
}

byId("top-window").addEventListener("change", e => { topWindow = e.target.value; refreshTop(); });
refresh();
refreshTop();
setInterval(refresh, 1000);
setInterval(refreshTop, 1000);
