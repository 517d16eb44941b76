// engagement-pipeline dashboard. Every value from the pipeline becomes text (textContent), never
// markup; styles are set through the CSSOM: the page runs under a strict Content-Security-Policy.
"use strict";
const RATE = [["source", "captured", "--c1"], ["enriched", "enriched", "--c2"], ["redis", "Redis", "--c3"],
  ["warehouse", "warehouse", "--c4"], ["http", "external API", "--c5"], ["invalid", "invalid", "--c6"]];
const LAT = [["redis", "Redis", "--c3"], ["warehouse", "warehouse", "--c4"], ["http", "external API", "--c5"]];
const SVG = "http://www.w3.org/2000/svg";
const css = v => getComputedStyle(document.documentElement).getPropertyValue(v);
const fmt = n => n == null || isNaN(n) ? "–" : Number(n).toLocaleString("en-US", {maximumFractionDigits: 1});
const byId = id => document.getElementById(id);

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

function chart(svg, legend, series, points, pick) {
  const W = 800, H = 220, P = 30;
  let max = 1;
  for (const p of points) for (const [k] of series) { const v = pick(p, k); if (v != null && v > max) max = v; }
  max = niceMax(max);
  svg.replaceChildren();
  for (let i = 0; i <= 4; i++) {
    const y = H - P - (H - 2 * P) * i / 4;
    svg.appendChild(svgEl("line", {x1: P, x2: W, y1: y, y2: y, stroke: css("--line"), "stroke-width": 1}));
    svg.appendChild(svgEl("text", {x: 2, y: y + 4, fill: css("--dim"), "font-size": 10}, fmt(max * i / 4)));
  }
  if (points.length > 1) {
    const t0 = points[0].t, t1 = points[points.length - 1].t, span = Math.max(1, t1 - t0);
    for (const [k, , color] of series) {
      const pts = points.map(p => [P + (W - P) * (p.t - t0) / span, pick(p, k)]).filter(([, v]) => v != null)
        .map(([x, v]) => `${x.toFixed(1)},${(H - P - (H - 2 * P) * v / max).toFixed(1)}`);
      if (pts.length) svg.appendChild(svgEl("polyline", {fill: "none", stroke: css(color), "stroke-width": 2, points: pts.join(" ")}));
    }
  }
  legend.replaceChildren(...series.map(([, label, color]) => {
    const swatch = el("i");
    swatch.style.background = css(color);
    return el("span", null, {}, swatch, document.createTextNode(label));
  }));
}

function niceMax(v) { const e = Math.pow(10, Math.floor(Math.log10(v))); for (const m of [1, 2, 5, 10]) if (v <= m * e) return m * e; return v; }

function topTable(table, items) {
  if (!items || !items.length) { table.replaceChildren(el("tr", null, {}, el("td", "No engagement yet", {class: "empty"}))); return; }
  const max = Math.max(...items.map(i => i.engagement_seconds), 0.001);
  const head = el("tr", null, {}, el("th", "#"), el("th", "Title"), el("th", "Engagement", {class: "num"}), el("th", null, {class: "barcol"}));
  table.replaceChildren(head, ...items.map(i => {
    const bar = el("div", null, {class: "bar"});
    bar.style.width = (100 * i.engagement_seconds / max).toFixed(1) + "%";
    return el("tr", null, {}, el("td", i.rank), el("td", i.title || i.content_id, {title: i.content_id}),
      el("td", fmtDuration(i.engagement_seconds), {class: "num"}), el("td", null, {}, bar));
  }));
}

function fmtDuration(s) { s = Number(s); if (s < 60) return s.toFixed(1) + " s"; if (s < 3600) return (s / 60).toFixed(1) + " min"; return (s / 3600).toFixed(1) + " h"; }

function services(box, health) {
  const svc = health.services || {}, det = health.details || {};
  box.replaceChildren(...Object.keys(svc).map(k => {
    const v = svc[k], color = v === "connected" ? "--ok" : v === "not_used" ? "--dim" : v === "degraded" ? "--warn" : "--bad";
    const dot = el("span", null, {class: "dot"});
    dot.style.background = css(color);
    return el("div", null, {class: "svc"}, el("div", null, {}, dot, document.createTextNode(k), el("small", det[k])),
      el("div", String(v).replace("_", " ")));
  }));
}

function latencyTable(table, lat) {
  table.replaceChildren(el("tr", null, {}, el("th", "Sink"), el("th", "p50", {class: "num"}), el("th", "p99", {class: "num"})),
    ...LAT.map(([k, label]) => el("tr", null, {}, el("td", label), el("td", lat[k] ? fmt(lat[k].p50) + " ms" : "–", {class: "num"}),
      el("td", lat[k] ? fmt(lat[k].p99) + " ms" : "–", {class: "num"}))));
}

async function refresh() {
  try {
    const r = await fetch("/api/dashboard", {cache: "no-store"});
    const d = await r.json();
    const st = byId("status");
    st.textContent = d.health.status;
    st.className = "badge " + (["healthy", "degraded", "unhealthy"].includes(d.health.status) ? d.health.status : "degraded");
    const t = d.totals || {};
    byId("k-events").textContent = fmt(t.events);
    byId("k-eng").textContent = t.engagement_seconds != null ? fmtDuration(t.engagement_seconds) + " of engagement" : "";
    const s = d.series || [];
    const recent = s.slice(-5);
    const rate = recent.length ? recent.reduce((a, p) => a + (p.redis || 0), 0) / recent.length : null;
    byId("k-rate").textContent = fmt(rate);
    const lr = (d.latency_ms || {}).redis;
    byId("k-p99").textContent = lr ? fmt(lr.p99) + " ms" : "–";
    byId("k-p50").textContent = lr ? "p50 " + fmt(lr.p50) + " ms" : "";
    byId("k-invalid").textContent = fmt((d.counters || {}).invalid);
    byId("k-dlq").textContent = fmt((d.counters || {}).http_dlq);
    const last = d.health.last_processed;
    byId("k-last").textContent = last ? new Date(last).toLocaleTimeString() : "–";
    byId("k-ago").textContent = last ? ((Date.now() - new Date(last)) / 1000).toFixed(1) + " s ago" : "";
    chart(byId("rate-chart"), byId("rate-legend"), RATE, s, (p, k) => p[k]);
    chart(byId("lat-chart"), byId("lat-legend"), LAT, s, (p, k) => (p.p99_ms || {})[k]);
    services(byId("services"), d.health);
    latencyTable(byId("latency"), d.latency_ms || {});
    topTable(byId("top10"), d.top_10m);
    topTable(byId("topall"), d.top_all);
    byId("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    const st = byId("status");
    st.textContent = "unreachable";
    st.className = "badge unhealthy";
  }
}

refresh();
setInterval(refresh, 1000);
