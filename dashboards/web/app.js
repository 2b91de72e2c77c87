// The native dashboard: draws the panels of dashboards/panels.yaml, refreshing every 5 s.
// PromQL goes from the browser to Prometheus; CQL panels ask the page's server to run one of
// the file's named queries. Each panel element carries data-state (ok, empty, error) and
// data-points (the data points drawn), which the browser tests read.
"use strict";

const REFRESH_MS = 5000;
const params = new URLSearchParams(location.search);
const state = { spec: null, board: null, range: +(params.get("range") || 3600), sensor: params.get("sensor") || "" };
const charts = new Map(); // panel index -> uPlot

async function getJSON(url) {
  const res = await fetch(url);
  const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok || body.error || body.status === "error") throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

function legendOf(template, labels) {
  return template.replace(/\{(\w+)\}/g, (_, name) => labels[name] ?? "");
}

// PromQL: a range query per expression, series aligned on one time axis (seconds).
async function promSeries(panel) {
  const end = Date.now() / 1000, start = end - state.range, step = Math.max(5, Math.round(state.range / 300));
  const times = new Set(), series = [];
  for (const q of panel.promql) {
    const url = `${state.spec.prometheus}/api/v1/query_range?query=${encodeURIComponent(q.expr)}` +
      `&start=${start}&end=${end}&step=${step}`;
    for (const r of (await getJSON(url)).data.result) {
      const points = new Map(r.values.map(([t, v]) => [t, Number(v)]));
      points.forEach((_, t) => times.add(t));
      series.push({ label: legendOf(q.legend, r.metric), points });
    }
  }
  const x = [...times].sort((a, b) => a - b);
  return { x, series: series.map(s => ({ label: s.label, y: x.map(t => s.points.has(t) ? s.points.get(t) : null) })) };
}

async function promInstant(panel) {
  const out = [];
  for (const q of panel.promql)
    for (const r of (await getJSON(`${state.spec.prometheus}/api/v1/query?query=${encodeURIComponent(q.expr)}`)).data.result)
      out.push({ label: legendOf(q.legend, r.metric), value: Number(r.value[1]) });
  return out;
}

async function cqlRows(panel) {
  const res = await getJSON(`/api/cql/${panel.cql}?sensor=${encodeURIComponent(state.sensor)}&range=${state.range}`);
  const index = Object.fromEntries(res.columns.map((c, i) => [c, i]));
  for (const c of panel.columns)
    if (!(c in index)) throw new Error(`query ${panel.cql} has no column ${c}`);
  return res.rows.map(row => Object.fromEntries(res.columns.map((c, i) => [c, row[i]])));
}

function format(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (typeof value !== "number") return Array.isArray(value) ? value.join(", ") : String(value);
  if (unit === "ratio") return (100 * value).toFixed(1) + " %";
  if (unit === "percent") return value.toFixed(1) + " %";
  if (Number.isInteger(value)) return value.toLocaleString("en");
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(4);
}

const isTime = c => c === "ts" || c.endsWith("_at") || c === "window_start";

// A `silent` table: each sensor's newest row, kept when it is from before the current hour.
function silentSensors(rows, timeColumn) {
  const newest = new Map();
  for (const r of rows)
    if (!newest.has(r.sensor_id) || newest.get(r.sensor_id)[timeColumn] < r[timeColumn]) newest.set(r.sensor_id, r);
  const hour = Math.floor(Date.now() / 3600000) * 3600000;
  return [...newest.values()].filter(r => r[timeColumn] < hour);
}

// A dq annotation (the dq_findings column) as one line per finding: what was changed, from what.
function findingsText(json) {
  try {
    return JSON.parse(json).findings.map(f => `${f.field}: ${f.reason} ${f.action}` +
      (f.from !== undefined ? ` (was ${JSON.stringify(f.from)})` : "")).join("; ");
  } catch {
    return json;
  }
}

function cellText(c, v, unit) {
  if (isTime(c) && typeof v === "number") return new Date(v).toISOString().replace("T", " ").slice(0, 19);
  if (c === "dq_findings" && typeof v === "string") return findingsText(v);
  return format(v, unit);
}

function drawTimeseries(i, el, data, unit) {
  const width = el.clientWidth - 20, opts = {
    width, height: 220, legend: { live: false },
    scales: { x: { time: true } },
    axes: [{}, { values: (u, ticks) => ticks.map(t => format(t, unit)), size: 60 }],
    series: [{}, ...data.series.map((s, k) => ({ label: s.label, stroke: COLORS[k % COLORS.length], width: 1.5, spanGaps: false }))],
  };
  const aligned = [data.x, ...data.series.map(s => s.y)];
  const old = charts.get(i);
  if (old && old.series.length === opts.series.length && old.series.every((s, k) => k === 0 || s.label === opts.series[k].label)) {
    old.setData(aligned);
    return;
  }
  old?.destroy();
  el.querySelector(".body").replaceChildren();
  charts.set(i, new uPlot(opts, aligned, el.querySelector(".body")));
}
const COLORS = ["#2f6fdb", "#d9822b", "#0f9960", "#c23030", "#7157d9", "#29a634", "#d13913", "#8f398f", "#00998c", "#5c7080"];

function note(el, text, cls = "") {
  charts.get(+el.dataset.index)?.destroy();
  charts.delete(+el.dataset.index);
  el.querySelector(".body").innerHTML = `<div class="note ${cls}"></div>`;
  el.querySelector(".note").textContent = text;
}

async function refreshPanel(panel, el) {
  const i = +el.dataset.index;
  let points = 0;
  if (panel.kind === "timeseries") {
    let data;
    if (panel.promql) data = await promSeries(panel);
    else {
      const rows = (await cqlRows(panel)).sort((a, b) => a[panel.columns[0]] - b[panel.columns[0]]);
      data = { x: rows.map(r => r[panel.columns[0]] / 1000),
               series: panel.columns.slice(1).map(c => ({ label: c, y: rows.map(r => r[c]) })) };
    }
    points = data.series.reduce((n, s) => n + s.y.filter(v => v !== null && v !== undefined).length, 0);
    if (points) drawTimeseries(i, el, data, panel.unit);
  } else if (panel.kind === "stat") {
    let values;
    if (panel.promql) values = await promInstant(panel);
    else {
      const rows = await cqlRows(panel);
      const first = rows.length ? Object.keys(rows[0])[0] : null;
      const latest = rows.sort((a, b) => b[first] - a[first])[0];
      values = latest ? panel.columns.map(c => ({ label: c, value: latest[c] })) : [];
    }
    points = values.filter(v => Number.isFinite(v.value)).length;
    if (points) {
      const body = el.querySelector(".body");
      body.innerHTML = '<div class="stat"></div>';
      for (const v of values) {
        const d = document.createElement("div");
        d.textContent = format(v.value, panel.unit);
        const small = document.createElement("small");
        small.textContent = v.label;
        d.append(small);
        body.firstChild.append(d);
      }
    }
  } else if (panel.kind === "bar") {
    const values = await promInstant(panel);
    points = values.length;
    if (points) {
      const max = Math.max(...values.map(v => v.value), 1e-9), body = el.querySelector(".body");
      body.innerHTML = '<div class="bars"></div>';
      for (const v of values.sort((a, b) => a.label.localeCompare(b.label))) {
        const row = document.createElement("div");
        row.innerHTML = "<span></span><i></i><b></b>";
        row.children[0].textContent = v.label;
        row.children[1].style.width = `${Math.max(2, 240 * v.value / max)}px`;
        row.children[2].textContent = format(v.value, panel.unit);
        body.firstChild.append(row);
      }
    }
  } else { // table
    let rows = await cqlRows(panel);
    if (panel.silent) rows = silentSensors(rows, panel.columns[1]);
    if (panel.sort) rows.sort((a, b) => a[panel.sort] - b[panel.sort]);
    rows = rows.slice(0, panel.limit || 20);
    points = rows.length;
    if (!points && panel.silent) {
      note(el, "none: every sensor that reported last hour has reported this hour");
      el.dataset.points = 0;
      el.dataset.state = "ok";
      return;
    }
    if (points) {
      const table = document.createElement("table");
      table.innerHTML = "<thead><tr></tr></thead><tbody></tbody>";
      for (const c of panel.columns) table.tHead.rows[0].append(Object.assign(document.createElement("th"), { textContent: c }));
      for (const r of rows) {
        const tr = table.tBodies[0].insertRow();
        for (const c of panel.columns) {
          const td = tr.insertCell();
          td.textContent = cellText(c, r[c], panel.unit);
          td.className = typeof r[c] === "number" && !isTime(c) ? "num" : "text";
        }
      }
      el.querySelector(".body").replaceChildren(table);
    }
  }
  if (!points) note(el, panel.cql ? `no rows for ${panel.cql} in this range` : "no data in this range");
  el.dataset.points = points;
  el.dataset.state = points ? "ok" : "empty";
}

async function refresh() {
  const board = state.board, els = [...document.querySelectorAll(".panel")];
  await Promise.all(board.panels.map((panel, i) => refreshPanel(panel, els[i]).catch(err => {
    console.error(`panel '${panel.title}': ${err.message}`);
    note(els[i], err.message, "error");
    els[i].dataset.state = "error";
    els[i].dataset.points = 0;
  })));
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString("en-GB");
  document.body.dataset.refreshes = +(document.body.dataset.refreshes || 0) + 1;
}

function show(uid) {
  state.board = state.spec.dashboards.find(b => b.uid === uid) || state.spec.dashboards[0];
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("current", a.dataset.uid === state.board.uid);
  document.getElementById("description").textContent = state.board.description || "";
  charts.forEach(c => c.destroy());
  charts.clear();
  const main = document.getElementById("panels");
  main.replaceChildren(...state.board.panels.map((panel, i) => {
    const el = document.createElement("section");
    el.className = "panel";
    el.dataset.index = i;
    el.dataset.title = panel.title;
    el.innerHTML = '<h2></h2><div class="body"><div class="note">loading</div></div>';
    el.querySelector("h2").textContent = panel.title;
    if (panel.unit) el.querySelector("h2").append(Object.assign(document.createElement("span"), { className: "unit", textContent: ` (${panel.unit})` }));
    return el;
  }));
  const url = new URL(location.href);
  url.searchParams.set("dashboard", state.board.uid);
  url.searchParams.set("range", state.range);
  if (state.sensor) url.searchParams.set("sensor", state.sensor);
  history.replaceState(null, "", url);
  return refresh();
}

async function main() {
  state.spec = await getJSON("/api/dashboards");
  const nav = document.getElementById("boards");
  for (const b of state.spec.dashboards) {
    const a = Object.assign(document.createElement("a"), { href: `?dashboard=${b.uid}`, textContent: b.title });
    a.dataset.uid = b.uid;
    a.onclick = ev => { ev.preventDefault(); show(b.uid); };
    nav.append(a);
  }
  const range = document.getElementById("range");
  if (![...range.options].some(o => +o.value === state.range)) range.append(new Option(`${state.range} s`, state.range));
  range.value = state.range;
  range.onchange = () => { state.range = +range.value; show(state.board.uid); };
  const select = document.getElementById("sensor");
  const sensors = await getJSON("/api/sensors").catch(err => { console.error(`sensors: ${err.message}`); return []; });
  if (!state.sensor) state.sensor = sensors.includes("sensor_1") ? "sensor_1" : (sensors[0] || "sensor_1");
  for (const s of sensors.includes(state.sensor) ? sensors : [state.sensor, ...sensors]) select.append(new Option(s, s));
  select.value = state.sensor;
  select.onchange = () => { state.sensor = select.value; show(state.board.uid); };
  await show(params.get("dashboard"));
  setInterval(() => refresh(), REFRESH_MS);
}

main().catch(err => console.error(`dashboard: ${err.message}`));
