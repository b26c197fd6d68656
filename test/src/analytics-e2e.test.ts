import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ClickHouseAnalyticsStore, exactPercentile, LATENCY_RELATIVE_ACCURACY, SqliteAnalyticsStore, type AnalyticsStore } from "@tollgate/analytics";
import Database from "better-sqlite3";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnalyticsProjectorProcess, type AnalyticsProjectorProcess } from "./support/analytics-projector-process.js";
import { PrivateClickHouseServer } from "./support/clickhouse-server.js";
import { startControlPlaneProcess, type ControlPlaneProcess } from "./support/control-plane-process.js";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.js";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.js";
import { waitFor } from "./support/wait-for.js";

type Json = Record<string, unknown>;
/** Screenshots land here (gitignored); CI keeps them as artifacts. */
const artifactsDir = process.env.TOLLGATE_TEST_ARTIFACTS ?? fileURLToPath(new URL("../artifacts/", import.meta.url));
/** Debian's chromium, with the flags that work on these machines (docs/analytics.md). */
const chromiumPath = process.env.TOLLGATE_CHROMIUM_PATH ?? "/usr/bin/chromium";
/**
 * What the tests read in the page. This workspace compiles without the DOM library, so
 * the callbacks given to page.evaluate see the page's globals through this type.
 */
interface PageGlobals {
  tollgateDashboard: { loads: number; charts: Record<string, { data: { labels: unknown[]; datasets: { label: string; data: unknown[] }[] } }>; answers: Record<string, Json> };
  document: {
    getElementById(id: string): { textContent: string | null } | null;
    querySelectorAll(selector: string): Iterable<{ id: string; width: number; height: number; getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } }>;
  };
}
const chromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const adminToken = "e2e-analytics-admin-token-0f1e2d3c4b5a69788796";

interface LoggedRequest {
  type: string;
  consumerId: string | null;
  planId: string | null;
  routeId: string | null;
  status: number;
  durationMs: number;
  startedAt: string;
}

/** The request events in the log, read straight from the SQLite file: what every answer is held against. */
function requestEventsInLog(file: string): LoggedRequest[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT type, data FROM events WHERE stream_id LIKE 'requests-%' ORDER BY position").all() as { type: string; data: string }[];
    return rows.map((row) => ({ type: row.type, ...(JSON.parse(row.data) as Omit<LoggedRequest, "type">) }));
  } finally {
    db.close();
  }
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

// Real traffic through a real gateway, the real control plane and the real projector,
// on each analytics engine: ClickHouse (a private clickhouse-server, selected with
// CLICKHOUSE_URL, as an operator would) and the embedded SQLite file.
describe.each(["sqlite", "clickhouse"] as const)("analytics end to end on %s", (engine) => {
  let dir: string;
  let clickhouse: PrivateClickHouseServer | undefined;
  let upstream: UpstreamServer;
  let cp: ControlPlaneProcess;
  let gateway: GatewayProcess;
  let projector: AnalyticsProjectorProcess;
  let env: NodeJS.ProcessEnv;
  let analyticsConfig: Json | null;
  const keys: Record<string, string> = {};
  /** The request events the first test saw projected; the dashboard test checks the page against them. */
  let projected: LoggedRequest[] = [];
  /** Requests the warm-up loop sent; each of them is one request event in the log too. */
  let warmups = 0;

  /** The store the projector writes, opened beside it: what the injection test counts in each table. */
  const openStore = (): AnalyticsStore =>
    engine === "clickhouse" ? ClickHouseAnalyticsStore.open({ url: clickhouse!.url, database: "tollgate_e2e" }) : SqliteAnalyticsStore.open({ file: join(dir, "analytics.db"), readonly: true });
  const tableCounts = async (): Promise<{ raw: number; rollup: number; checkpoint: string | null }> => {
    const store = openStore();
    try {
      const count = async (sql: string): Promise<number> => Number((await store.query(sql))[0]!.n);
      return {
        raw: await count(`SELECT count(*) AS n FROM ${store.tables.requests}`),
        rollup: await count(`SELECT sum(requests) AS n FROM ${store.tables.rollup}`),
        checkpoint: String(await store.loadCheckpoint("analytics-projector")),
      };
    } finally {
      await store.close();
    }
  };

  const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${cp.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `tollgate-analytics-e2e-${engine}-`));
    if (engine === "clickhouse") {
      clickhouse = await PrivateClickHouseServer.start();
      env = { CLICKHOUSE_URL: `${clickhouse.url}/tollgate_e2e` };
      analyticsConfig = null;
    } else {
      // A CLICKHOUSE_URL in the environment would switch both processes to ClickHouse.
      env = { CLICKHOUSE_URL: "" };
      analyticsConfig = { sqlite: { file: join(dir, "analytics.db") } };
    }
    upstream = await startUpstream((request, response) => {
      const path = request.url ?? "/";
      const status = path.includes("missing") ? 404 : path.includes("boom") ? 500 : 200;
      // A little latency that varies by path, so the percentiles have something to say.
      const delayMs = path.length % 5;
      setTimeout(() => {
        response.writeHead(status, { "content-type": "text/plain", "content-length": "2" });
        response.end("ok");
      }, delayMs);
    });
    cp = await startControlPlaneProcess({ adminTokens: [{ name: "ops", token: adminToken, access: "write" }], ...(analyticsConfig ? { analytics: analyticsConfig } : {}) }, env);
    gateway = await startGatewayProcess({
      config: {
        eventStore: { kind: "sqlite", file: cp.eventsFile },
        upstreams: { orders: { targets: [upstream.url] }, dead: { targets: ["http://127.0.0.1:9"] } },
        routes: [
          { id: "orders", match: { pathPrefix: "/orders" }, upstream: "orders", auth: [{ type: "api-key" }] },
          { id: "users", match: { pathPrefix: "/users" }, upstream: "orders", auth: [{ type: "api-key" }] },
          { id: "open", match: { pathPrefix: "/open" }, upstream: "orders" },
          { id: "dead", match: { pathPrefix: "/dead" }, upstream: "dead" },
        ],
      },
    });
    await waitFor("the gateway to be ready", async () => (await fetch(`${gateway.statusUrl}/readyz`)).status === 200);
    expect((await admin("POST", "/admin/plans", { id: "gold", name: "Gold", routes: ["orders", "users"] })).status).toBe(201);
    expect((await admin("POST", "/admin/plans", { id: "free", name: "Free", routes: ["orders"] })).status).toBe(201);
    for (const [consumer, plan] of [["acme", "gold"], ["globex", "gold"], ["initech", "free"]] as const) {
      expect((await admin("POST", "/admin/consumers", { id: consumer, name: consumer })).status).toBe(201);
      expect((await admin("POST", "/admin/subscriptions", { id: `${consumer}-${plan}`, consumerId: consumer, planId: plan })).status).toBe(201);
      keys[consumer] = (await admin("POST", `/admin/consumers/${consumer}/api-keys`, {})).body.secret as string;
    }
    await waitFor(
      "the last key to reach the gateway",
      async () => {
        warmups += 1;
        return (await fetch(`${gateway.url}/orders/warmup`, { headers: { "x-api-key": keys.initech! } })).status === 200;
      },
      5_000,
      10,
    );
    projector = await startAnalyticsProjectorProcess(dir, { eventStore: { kind: "sqlite", file: cp.eventsFile }, ...(analyticsConfig ? { analytics: analyticsConfig } : {}), runner: { maxBatchSize: 200, maxBatchWaitMs: 50 } }, { env });
  });

  afterAll(async () => {
    await projector?.stop();
    await gateway?.cleanup();
    await cp?.cleanup();
    await upstream?.close();
    await clickhouse?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("answers totals, errors, per-consumer, per-route and per-plan counts equal to the events in the log, and percentiles within the stated precision", async () => {
    // Traffic: three consumers on two plans, two routes, 200/404/500 from the upstream,
    // 502 from a dead upstream, 401 without a key, 403 off-plan, 404 with no route.
    const calls: [string, Record<string, string>][] = [];
    for (let index = 0; index < 60; index += 1) {
      const consumer = ["acme", "globex", "initech"][index % 3]!;
      const path = ["/orders/1", "/orders/missing", "/orders/boom", "/users/7", "/orders/abcdefgh"][index % 5]!;
      calls.push([path, { "x-api-key": keys[consumer]! }]);
    }
    for (let index = 0; index < 10; index += 1) calls.push([`/open/${"x".repeat(index)}`, {}]);
    for (let index = 0; index < 6; index += 1) calls.push(["/dead/1", {}]);
    for (let index = 0; index < 5; index += 1) calls.push(["/orders/1", {}]);
    for (let index = 0; index < 4; index += 1) calls.push(["/nowhere", {}]);
    for (const [path, headers] of calls) await (await fetch(`${gateway.url}${path}`, { headers })).arrayBuffer();

    // The gateway appends from a background batch, so the log is read until it holds one
    // event for every request sent (the warm-up loop's too); only then is it the reference.
    const expected = calls.length + warmups;
    const logged = await waitFor("every request event in the log", () => {
      const events = requestEventsInLog(cp.eventsFile);
      return events.length === expected ? events : null;
    });
    const from = new Date(Math.min(...logged.map((event) => Date.parse(event.startedAt))) - 60_000).toISOString();
    const to = new Date(Date.now() + 120_000).toISOString();
    const range = `from=${from}&to=${to}`;
    const get = async <T = Json>(path: string): Promise<T> => {
      const response = await fetch(`${cp.url}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(response.status, path).toBe(200);
      return (await response.json()) as T;
    };
    await waitFor(
      "the projection to hold every request event",
      async () => (await get<{ requests: number }>(`/admin/analytics/totals?${range}`)).requests === expected,
      20_000,
      50,
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}; the log holds ${expected}, the API says ${JSON.stringify(await get(`/admin/analytics/totals?${range}`))}\nprojector:\n${projector.lines.slice(-20).join("\n")}`);
    });
    expect(requestEventsInLog(cp.eventsFile)).toHaveLength(expected);

    const totals = await get<{ requests: number; errors: number; byStatusClass: Record<string, number>; p50: number; p95: number; p99: number }>(`/admin/analytics/totals?${range}`);
    expect(totals.requests).toBe(logged.length);
    expect(totals.errors).toBe(logged.filter((event) => event.status >= 400).length);
    expect(totals.byStatusClass).toEqual({ "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, ...countBy(logged, (event) => `${Math.floor(event.status / 100)}xx`) });
    expect(logged.some((event) => event.type === "RequestFailed")).toBe(true);
    expect(logged.some((event) => event.type === "RequestRejected")).toBe(true);

    const durations = logged.map((event) => event.durationMs);
    const precision: string[] = [];
    for (const [p, key] of [[0.5, "p50"], [0.95, "p95"], [0.99, "p99"]] as const) {
      const exact = exactPercentile(durations, p)!;
      expect(Math.abs(totals[key] - exact), key).toBeLessThanOrEqual(exact * LATENCY_RELATIVE_ACCURACY + 0.001);
      precision.push(`${key} ${totals[key]} ms (exact ${exact.toFixed(3)})`);
    }

    /** Each of p50/p95/p99 within the stated precision of the exact percentile of `events`' durations. */
    const expectPercentiles = (answer: Record<"p50" | "p95" | "p99", number | null>, events: readonly LoggedRequest[], what: string): void => {
      for (const [p, key] of [[0.5, "p50"], [0.95, "p95"], [0.99, "p99"]] as const) {
        const exact = exactPercentile(events.map((event) => event.durationMs), p)!;
        expect(Math.abs(answer[key]! - exact), `${what} ${key}`).toBeLessThanOrEqual(exact * LATENCY_RELATIVE_ACCURACY + 0.001);
      }
    };
    type Entry = { key: string | null; requests: number; errors: number; p50: number; p95: number; p99: number };
    for (const [by, field] of [["consumer", "consumerId"], ["route", "routeId"], ["plan", "planId"]] as const) {
      const top = await get<{ entries: Entry[] }>(`/admin/analytics/top?${range}&by=${by}&limit=100`);
      const expected = countBy(logged, (event) => String(event[field]));
      expect(Object.fromEntries(top.entries.map((entry) => [String(entry.key), entry.requests])), by).toEqual(expected);
      const expectedErrors = countBy(logged.filter((event) => event.status >= 400), (event) => String(event[field]));
      for (const entry of top.entries) {
        expect(entry.errors, `${by} ${String(entry.key)} errors`).toBe(expectedErrors[String(entry.key)] ?? 0);
        expectPercentiles(entry, logged.filter((event) => String(event[field]) === String(entry.key)), `${by} ${String(entry.key)}`);
      }
    }

    // Each point of a series by status class: its count, and its percentiles, against the log's events of that minute and class.
    const series = await get<{ points: ({ t: string; group: string } & Entry)[] }>(`/admin/analytics/timeseries?${range}&interval=1m&groupBy=status`);
    expect(series.points.reduce((sum, point) => sum + point.requests, 0)).toBe(logged.length);
    for (const point of series.points) {
      const minute = Date.parse(point.t);
      const events = logged.filter((event) => `${Math.floor(event.status / 100)}xx` === point.group && Math.floor(Date.parse(event.startedAt) / 60_000) * 60_000 === minute);
      expect(point.requests, `${point.t} ${point.group}`).toBe(events.length);
      expectPercentiles(point, events, `${point.t} ${point.group}`);
    }

    const acme = logged.filter((event) => event.consumerId === "acme");
    const mine = await fetch(`${cp.url}/consumer/analytics/usage?${range}`, { headers: { "x-api-key": keys.acme! } });
    expect(mine.status).toBe(200);
    expect((await mine.json()) as Json).toMatchObject({ consumerId: "acme", requests: acme.length, errors: acme.filter((event) => event.status >= 400).length });
    const page = await get<{ requests: { consumerId: string }[]; more: boolean }>(`/admin/analytics/requests?${range}&consumerId=globex&limit=5`);
    expect(page.requests).toHaveLength(5);
    expect(page.more).toBe(true);

    projected = logged;
    const metrics = await (await fetch(`${projector.statusUrl}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_analytics_projection_lag_seconds\{[^}]*\} 0/);
    console.log(`${engine}: ${logged.length} request events; the API agrees on every count; ${precision.join(", ")}`);
  });

  it("refuses injection attempts on every query parameter with 400, and the tables are intact afterwards", async () => {
    expect(projected.length).toBeGreaterThan(0);
    const before = await tableCounts();
    expect(before.raw).toBe(projected.length);
    expect(before.rollup).toBe(projected.length);
    const hostile = ["' OR '1'='1", "x'; DROP TABLE requests; --", "1) OR (1=1", "a\\' OR 1=1 --", "0 UNION SELECT event_id FROM requests"];
    const parameters = ["from", "to", "routeId", "consumerId", "planId", "status", "interval", "groupBy", "by", "metric", "limit", "offset"];
    // Every parameter on every endpoint, the consumer's own endpoints (with its key) included.
    const endpoints: [string, Record<string, string>][] = [
      ...["/admin/analytics/timeseries", "/admin/analytics/totals", "/admin/analytics/top", "/admin/analytics/requests", "/admin/analytics/consumers/acme"].map(
        (endpoint): [string, Record<string, string>] => [endpoint, { authorization: `Bearer ${adminToken}` }],
      ),
      ...["/consumer/analytics/timeseries", "/consumer/analytics/usage", "/consumer/analytics/requests"].map((endpoint): [string, Record<string, string>] => [endpoint, { "x-api-key": keys.acme! }]),
    ];
    const statuses = new Map<number, number>();
    const attempt = async (url: string, headers: Record<string, string>): Promise<void> => {
      const response = await fetch(url, { headers });
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    };
    for (const [endpoint, headers] of endpoints) {
      for (const parameter of parameters) {
        for (const value of hostile) await attempt(`${cp.url}${endpoint}?${parameter}=${encodeURIComponent(value)}`, headers);
      }
    }
    for (const value of hostile) await attempt(`${cp.url}/admin/analytics/consumers/${encodeURIComponent(value)}`, { authorization: `Bearer ${adminToken}` });
    expect(Object.fromEntries(statuses)).toEqual({ 400: (endpoints.length * parameters.length + 1) * hostile.length });

    // Intact: every table holds what it held (the raw table the attacks name, the rollup,
    // the checkpoint), and the API still answers from both tables.
    expect(await tableCounts()).toEqual(before);
    const range = `from=${new Date(Math.min(...projected.map((event) => Date.parse(event.startedAt))) - 60_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`;
    const headers = { authorization: `Bearer ${adminToken}` };
    const totals = (await (await fetch(`${cp.url}/admin/analytics/totals?${range}`, { headers })).json()) as { requests: number };
    expect(totals.requests).toBe(projected.length);
    const list = (await (await fetch(`${cp.url}/admin/analytics/requests?${range}&limit=500`, { headers })).json()) as { requests: unknown[]; more: boolean };
    expect(list).toMatchObject({ more: false });
    expect(list.requests).toHaveLength(projected.length);
    console.log(`${engine}: ${statuses.get(400)} injection attempts, all 400; tables intact (${before.raw} raw rows, ${before.rollup} in the rollup, checkpoint ${String(before.checkpoint)})`);
  });

  it("the dashboard shows, in headless Chromium, the numbers the API returns and the log holds", async () => {
    expect(projected.length).toBeGreaterThan(0);
    const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      const started = performance.now();
      await page.goto(`${cp.url}/dashboard/`);
      await page.fill("#token", adminToken);
      await page.click("button[type=submit]");
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).tollgateDashboard.loads >= 1, undefined, { timeout: 15_000 });
      const loadMs = performance.now() - started;

      const shown = await page.evaluate(() => {
        const { tollgateDashboard: dashboard, document } = globalThis as unknown as PageGlobals;
        const charts = Object.fromEntries(Object.entries(dashboard.charts).map(([id, chart]) => [id, { labels: chart.data.labels, datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })) }]));
        // A chart that drew something has non-transparent pixels beyond its axes.
        const painted = Object.fromEntries(
          [...document.querySelectorAll("canvas")].map((canvas) => {
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let count = 0;
            for (let index = 3; index < pixels.length; index += 4) if (pixels[index]! > 0) count += 1;
            return [canvas.id, count];
          }),
        );
        return { charts, painted, range: (dashboard.answers.traffic as { range: { from: string; to: string } }).range, total: document.getElementById("total-requests")!.textContent, p95: document.getElementById("total-p95")!.textContent };
      });
      const sum = (values: unknown[]): number => values.reduce<number>((total, value) => total + Number(value ?? 0), 0);

      // Against the log: every request of this run is inside the page's default hour.
      expect(Number(shown.total)).toBe(projected.length);
      expect(sum(shown.charts["chart-traffic"]!.datasets[0]!.data)).toBe(projected.length);
      const consumers = shown.charts["chart-consumers"]!;
      expect(Object.fromEntries(consumers.labels.map((key, index) => [key === "(none)" ? "null" : String(key), consumers.datasets[0]!.data[index]]))).toEqual(
        countBy(projected, (event) => String(event.consumerId)),
      );
      const status = shown.charts["chart-status"]!;
      expect(Object.fromEntries(status.datasets.map((dataset) => [dataset.label, sum(dataset.data)]))).toEqual(countBy(projected, (event) => `${Math.floor(event.status / 100)}xx`));
      const plans = shown.charts["chart-plans"]!;
      expect(Object.fromEntries(plans.labels.map((key, index) => [key === "(none)" ? "null" : String(key), plans.datasets[0]!.data[index]]))).toEqual(countBy(projected, (event) => String(event.planId)));

      // Against the API, for the page's own range: the latency lines are the API's percentiles.
      const apiSeries = (await (
        await fetch(`${cp.url}/admin/analytics/timeseries?from=${shown.range.from}&to=${shown.range.to}&interval=1m`, { headers: { authorization: `Bearer ${adminToken}` } })
      ).json()) as { points: { p50: number; p95: number; p99: number }[] };
      const latency = shown.charts["chart-latency"]!;
      for (const [index, p] of (["p50", "p95", "p99"] as const).entries()) {
        expect(latency.datasets[index]!.data.filter((value) => value !== null)).toEqual(apiSeries.points.map((point) => point[p]));
      }
      const apiTotals = (await (await fetch(`${cp.url}/admin/analytics/totals?from=${shown.range.from}&to=${shown.range.to}`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { p95: number };
      expect(shown.p95).toBe(`${apiTotals.p95} ms`);

      for (const [id, count] of Object.entries(shown.painted)) expect(count, `${id} is empty`).toBeGreaterThan(2_000);
      mkdirSync(artifactsDir, { recursive: true });
      const screenshot = join(artifactsDir, `analytics-dashboard-${engine}.png`);
      await page.screenshot({ path: screenshot, fullPage: true });

      // The request list holds the raw requests; the consumer filter opens the consumer's view.
      expect(await page.locator("#requests tr").count()).toBe(Math.min(50, projected.length));
      await page.locator("#requests tr").first().click();
      const detail = JSON.parse((await page.locator("#request-detail").textContent()) ?? "{}") as { eventId?: string; position?: string };
      expect(detail.eventId).toMatch(/\S+/);
      expect(Number(detail.position)).toBeGreaterThan(0);
      await page.selectOption("#consumer", "acme");
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById("consumer-detail-id")!.textContent === "acme", undefined, { timeout: 10_000 });
      const acme = projected.filter((event) => event.consumerId === "acme").length;
      await page.waitForFunction((expected) => (globalThis as unknown as PageGlobals).document.getElementById("total-requests")!.textContent === String(expected), acme, { timeout: 10_000 });
      expect(await page.locator("#consumer-detail-routes tr").count()).toBe(new Set(projected.filter((event) => event.consumerId === "acme").map((event) => event.routeId)).size);
      // The request list follows the filter, and the request picked under the old filters is gone.
      expect(await page.locator("#requests tr").count()).toBe(Math.min(50, acme));
      expect(await page.locator("#request-detail").textContent()).toBe("–");
      await page.screenshot({ path: join(artifactsDir, `analytics-dashboard-${engine}-consumer.png`), fullPage: true });
      expect(problems).toEqual([]);
      console.log(`${engine}: dashboard loaded and drawn in ${loadMs.toFixed(0)} ms; screenshot ${screenshot}`);
    } finally {
      await browser.close();
    }
  });
});
