// The analytics dashboard: plain browser JavaScript and Chart.js (served from
// node_modules), no build step. It only calls the query API with the admin token the
// user types in; the token stays in this tab's sessionStorage.
/* global Chart */
"use strict";

const rangeMs = { "15m": 15 * 60e3, "1h": 3600e3, "6h": 6 * 3600e3, "24h": 24 * 3600e3, "7d": 7 * 24 * 3600e3 };
const intervalFor = { "15m": "1m", "1h": "1m", "6h": "5m", "24h": "15m", "7d": "1h" };
const intervalMs = { "1m": 60e3, "5m": 300e3, "15m": 900e3, "1h": 3600e3, "1d": 86400e3 };
const statusColors = { "1xx": "#9aa5b1", "2xx": "#2e9d5b", "3xx": "#3f7fd9", "4xx": "#e0a100", "5xx": "#d64545" };
const $ = (id) => document.getElementById(id);

const state = { charts: {}, answers: {}, page: 0, pageSize: 50, requestRange: null, timer: null, loads: 0 };
window.tollgateDashboard = state;

function filters() {
  const to = Date.now();
  const range = $("range").value;
  const params = new URLSearchParams({ from: new Date(to - rangeMs[range]).toISOString(), to: new Date(to).toISOString() });
  for (const [id, name] of [["route", "routeId"], ["consumer", "consumerId"], ["plan", "planId"]]) {
    if ($(id).value) params.set(name, $(id).value);
  }
  return params;
}

async function api(path, params) {
  const response = await fetch(`${path}?${params}`, { headers: { authorization: `Bearer ${$("token").value}` } });
  const body = await response.json();
  if (!response.ok) throw new Error(`${response.status} ${body.detail || body.title || ""}`);
  return body;
}

function chart(id, config) {
  const existing = state.charts[id];
  if (existing) {
    existing.data = config.data;
    existing.update("none");
    return existing;
  }
  const created = new Chart($(id), { ...config, options: { animation: false, maintainAspectRatio: false, responsive: true, ...config.options } });
  state.charts[id] = created;
  return created;
}

function label(iso) {
  const date = new Date(iso);
  return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
}

function fillSelect(id, entries) {
  const select = $(id);
  const current = select.value;
  const keys = entries.map((entry) => entry.key).filter((key) => key !== null);
  if (current && !keys.includes(current)) keys.push(current);
  select.replaceChildren(new Option("all", ""), ...keys.sort().map((key) => new Option(key, key)));
  select.value = current;
}

async function load() {
  const params = filters();
  const interval = intervalFor[$("range").value];
  const series = new URLSearchParams(params);
  series.set("interval", interval);
  const byStatus = new URLSearchParams(series);
  byStatus.set("groupBy", "status");
  const top = (by) => {
    const query = new URLSearchParams(params);
    query.set("by", by);
    query.set("limit", "10");
    return query;
  };
  const [totals, traffic, status, consumers, routes, plans] = await Promise.all([
    api("/admin/analytics/totals", params),
    api("/admin/analytics/timeseries", series),
    api("/admin/analytics/timeseries", byStatus),
    api("/admin/analytics/top", top("consumer")),
    api("/admin/analytics/top", top("route")),
    api("/admin/analytics/top", top("plan")),
  ]);
  state.answers = { totals, traffic, status, consumers, routes, plans };

  $("total-requests").textContent = String(totals.requests);
  $("total-errors").textContent = String(totals.errors);
  for (const p of ["p50", "p95", "p99"]) $(`total-${p}`).textContent = totals[p] === null ? "–" : `${totals[p]} ms`;

  // Every interval of the range, so that quiet intervals show as zero rather than as a gap.
  const byTime = new Map(traffic.points.map((point) => [point.t, point]));
  const times = [];
  for (let t = Date.parse(traffic.range.from); t < Date.parse(traffic.range.to); t += intervalMs[interval]) times.push(new Date(t).toISOString());
  const at = (t) => byTime.get(t);
  chart("chart-traffic", {
    type: "line",
    data: { labels: times.map(label), datasets: [{ label: "requests", data: times.map((t) => at(t)?.requests ?? 0), borderColor: "#3f7fd9", backgroundColor: "#3f7fd9", pointRadius: 1, tension: 0.2 }] },
    options: { onClick: (_event, elements) => elements.length && showRequests(times[elements[0].index], interval) },
  });
  chart("chart-latency", {
    type: "line",
    data: {
      labels: times.map(label),
      datasets: ["p50", "p95", "p99"].map((p, index) => ({
        label: p,
        data: times.map((t) => at(t)?.[p] ?? null),
        spanGaps: true,
        pointRadius: 2,
        borderColor: ["#2e9d5b", "#e0a100", "#d64545"][index],
        backgroundColor: ["#2e9d5b", "#e0a100", "#d64545"][index],
      })),
    },
  });
  const statusTimes = [...new Set(status.points.map((point) => point.t))];
  const classes = [...new Set(status.points.map((point) => point.group))].sort();
  chart("chart-status", {
    type: "bar",
    data: {
      labels: statusTimes.map(label),
      datasets: classes.map((group) => ({
        label: group,
        backgroundColor: statusColors[group],
        data: statusTimes.map((t) => status.points.find((point) => point.t === t && point.group === group)?.requests ?? 0),
      })),
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true } } },
  });
  const bars = (entries, color) => ({
    labels: entries.map((entry) => entry.key ?? "(none)"),
    datasets: [{ label: "requests", data: entries.map((entry) => entry.requests), backgroundColor: color }],
  });
  chart("chart-consumers", {
    type: "bar",
    data: bars(consumers.entries, "#3f7fd9"),
    options: { indexAxis: "y", onClick: (_event, elements) => elements.length && showConsumer(consumers.entries[elements[0].index].key) },
  });
  chart("chart-routes", { type: "bar", data: bars(routes.entries, "#2e9d5b"), options: { indexAxis: "y" } });
  chart("chart-plans", { type: "doughnut", data: { ...bars(plans.entries, ["#3f7fd9", "#2e9d5b", "#e0a100", "#d64545", "#9aa5b1"]) } });

  if (!$("route").value) fillSelect("route", routes.entries);
  if (!$("consumer").value) fillSelect("consumer", consumers.entries);
  if (!$("plan").value) fillSelect("plan", plans.entries);
  if ($("consumer").value) await showConsumer($("consumer").value);
  await loadRequests();
  state.loads += 1;
  $("status").textContent = `Updated ${new Date().toLocaleTimeString()} · ${totals.requests} requests`;
}

async function showConsumer(consumerId) {
  if (!consumerId) return;
  const params = filters();
  params.delete("consumerId");
  const usage = await api(`/admin/analytics/consumers/${encodeURIComponent(consumerId)}`, params);
  state.answers.consumer = usage;
  $("consumer-detail").hidden = false;
  $("consumer-detail-id").textContent = consumerId;
  $("consumer-detail-summary").textContent = `${usage.requests} requests, ${usage.errors} errors, p95 ${usage.p95 ?? "–"} ms; plans: ${usage.plans.map((plan) => `${plan.key ?? "(none)"} ${plan.requests}`).join(", ")}`;
  $("consumer-detail-routes").replaceChildren(
    ...usage.routes.map((route) => row([route.key ?? "(none)", route.requests, route.errors, route.p95 ?? "–"])),
  );
}

function showRequests(t, interval) {
  const from = new Date(t);
  state.requestRange = { from: from.toISOString(), to: new Date(from.getTime() + intervalMs[interval]).toISOString() };
  state.page = 0;
  void loadRequests().catch(fail);
}

async function loadRequests() {
  const params = filters();
  if (state.requestRange) {
    params.set("from", state.requestRange.from);
    params.set("to", state.requestRange.to);
  }
  params.set("limit", String(state.pageSize));
  params.set("offset", String(state.page * state.pageSize));
  const list = await api("/admin/analytics/requests", params);
  state.answers.requests = list;
  $("request-range").textContent = state.requestRange ? `${state.requestRange.from} – ${state.requestRange.to}` : "(newest first)";
  $("requests").replaceChildren(
    ...list.requests.map((r) => {
      const tr = row([r.startedAt, r.type, r.routeId ?? "–", r.consumerId ?? "–", r.planId ?? "–", r.method, r.path, r.status, r.durationMs.toFixed(2), r.outcome, `${r.eventId} (${r.position})`]);
      tr.addEventListener("click", () => {
        $("request-detail").textContent = JSON.stringify(r, null, 2);
      });
      return tr;
    }),
  );
  $("prev").disabled = state.page === 0;
  $("next").disabled = !list.more;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    td.textContent = String(cell);
    tr.append(td);
  }
  return tr;
}

function fail(error) {
  $("status").textContent = `Could not load: ${error.message}`;
}

function schedule() {
  clearInterval(state.timer);
  if ($("autorefresh").checked) state.timer = setInterval(() => void load().catch(fail), 10_000);
}

document.addEventListener("DOMContentLoaded", () => {
  $("token").value = sessionStorage.getItem("tollgate-admin-token") ?? "";
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("tollgate-admin-token", $("token").value);
    state.requestRange = null;
    state.page = 0;
    // New filters: a request picked or a consumer opened under the old ones no longer applies.
    $("request-detail").textContent = "–";
    $("consumer-detail").hidden = !$("consumer").value;
    void load().catch(fail);
    schedule();
  });
  for (const id of ["range", "route", "consumer", "plan"]) $(id).addEventListener("change", () => $("controls").requestSubmit());
  $("autorefresh").addEventListener("change", schedule);
  $("prev").addEventListener("click", () => {
    state.page = Math.max(0, state.page - 1);
    void loadRequests().catch(fail);
  });
  $("next").addEventListener("click", () => {
    state.page += 1;
    void loadRequests().catch(fail);
  });
  if ($("token").value) $("controls").requestSubmit();
});
