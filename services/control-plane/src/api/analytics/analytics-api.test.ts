import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { latencyBucket, SqliteAnalyticsStore, type RequestRow } from "@tollgate/analytics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readToken, startHarness, type Harness } from "../../test-support/control-plane-harness.js";

// The query API over a real SQLite analytics file, filled the way the projector fills it.
const minute = Date.UTC(2026, 10, 26, 10, 0, 0);
const range = "from=2026-11-26T10:00:00Z&to=2026-11-26T11:00:00Z";

function row(index: number, consumer: string, status: number, durationMs: number): RequestRow {
  const startedAt = minute + index * 1_000;
  return {
    event_id: `e-${index}`,
    position: String(index + 1),
    event_type: status >= 500 ? "RequestFailed" : "RequestCompleted",
    request_id: `r-${index}`,
    gateway_id: "gw",
    started_at_ms: startedAt,
    minute: Math.floor(startedAt / 60_000) * 60,
    route_id: index % 2 === 0 ? "orders" : "users",
    method: "GET",
    path: "/p",
    status,
    status_class: Math.floor(status / 100),
    consumer_id: consumer,
    plan_id: consumer === "c1" ? "gold" : "free",
    subscription_id: "",
    duration_ms: durationMs,
    latency_bucket: latencyBucket(durationMs),
    bytes_in: 0,
    bytes_out: 10,
    outcome: "",
    graphql_operation: index % 4 === 0 ? "GetOrder" : index % 4 === 1 ? "PlaceOrder" : "",
    graphql_operation_type: index % 4 === 0 ? "query" : index % 4 === 1 ? "mutation" : "",
  };
}

describe("analytics API", () => {
  let h: Harness;
  let dir: string;
  let c1Key: string;
  const rows = Array.from({ length: 300 }, (_, index) => row(index, index % 3 === 0 ? "c2" : "c1", index % 10 === 0 ? 502 : index % 7 === 0 ? 404 : 200, 1 + (index % 50)));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-cp-analytics-"));
    const file = join(dir, "analytics.db");
    const writer = SqliteAnalyticsStore.open({ file });
    await writer.migrate();
    await writer.writeBatch("analytics-projector", rows, 300n);
    await writer.close();
    h = await startHarness({ analytics: { sqlite: { file } } });
    await h.admin("POST", "/admin/consumers", { id: "c1", name: "C1" });
    c1Key = (await h.admin<{ secret: string }>("POST", "/admin/consumers/c1/api-keys", {})).body.secret;
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(".happy: totals and per-consumer counts equal the rows", async () => {
    const totals = await h.call<{ requests: number; errors: number }>("GET", `/admin/analytics/totals?${range}`, { token: readToken });
    expect(totals.status).toBe(200);
    expect(totals.body.requests).toBe(300);
    expect(totals.body.errors).toBe(rows.filter((r) => r.status >= 400).length);
    const top = await h.call<{ entries: { key: string; requests: number }[] }>("GET", `/admin/analytics/top?${range}&by=consumer`, { token: readToken });
    expect(Object.fromEntries(top.body.entries.map((entry) => [entry.key, entry.requests]))).toEqual({ c1: 200, c2: 100 });
    const series = await h.call<{ points: { requests: number }[] }>("GET", `/admin/analytics/timeseries?${range}&interval=5m&groupBy=plan`, { token: readToken });
    expect(series.body.points.reduce((sum, point) => sum + point.requests, 0)).toBe(300);
  });

  it(".happy: top by=operation ranks GraphQL operation names; an unknown dimension is 400", async () => {
    const top = await h.call<{ by: string; entries: { key: string | null; requests: number; errors: number }[] }>("GET", `/admin/analytics/top?${range}&by=operation`, {
      token: readToken,
    });
    expect(top.status).toBe(200);
    expect(top.body.by).toBe("operation");
    expect(top.body.entries.map((entry) => [entry.key, entry.requests])).toEqual([
      ["GetOrder", 75],
      ["PlaceOrder", 75],
    ]);
    expect(top.body.entries[0]?.errors).toBe(rows.filter((r, index) => index % 4 === 0 && r.status >= 400).length);
    const byErrors = await h.call<{ entries: { key: string | null }[] }>("GET", `/admin/analytics/top?${range}&by=operation&metric=errors&limit=1&consumerId=c1`, { token: readToken });
    expect(byErrors.status).toBe(200);
    expect(byErrors.body.entries).toHaveLength(1);
    const unknown = await h.call<Record<string, unknown>>("GET", `/admin/analytics/top?${range}&by=graphql_operation`, { token: readToken });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });

  it(".happy: a consumer sees only its own requests", async () => {
    const usage = await h.call<{ requests: number; consumerId: string }>("GET", `/consumer/analytics/usage?${range}`, { token: c1Key });
    expect(usage.status).toBe(200);
    expect(usage.body).toMatchObject({ consumerId: "c1", requests: 200 });
    const list = await h.call<{ requests: { consumerId: string }[] }>("GET", `/consumer/analytics/requests?${range}&limit=500`, { token: c1Key });
    expect(list.body.requests).toHaveLength(200);
    expect(list.body.requests.every((request) => request.consumerId === "c1")).toBe(true);
  });

  it(".security: a consumer cannot name another consumer, and needs a key", async () => {
    expect((await h.call("GET", `/consumer/analytics/usage?${range}&consumerId=c2`, { token: c1Key })).status).toBe(400);
    expect((await h.call("GET", `/consumer/analytics/timeseries?${range}&consumerId=c2`, { token: c1Key })).status).toBe(400);
    expect((await h.call("GET", `/consumer/analytics/usage?${range}`, { token: null })).status).toBe(401);
    expect((await h.call("GET", `/admin/analytics/totals?${range}`, { token: c1Key })).status).toBe(401);
  });

  it(".security: injection attempts on every parameter get 400, and the tables are intact", async () => {
    const hostile = ["' OR '1'='1", "x'; DROP TABLE requests; --", "1) OR (1=1", "a\\'--", "demo UNION SELECT 1"];
    const parameters = ["from", "to", "routeId", "consumerId", "planId", "status", "interval", "groupBy", "by", "metric", "limit", "offset"];
    // Every parameter on every endpoint: the admin ones with a read token, the consumer's own with its key.
    const paths: [string, string][] = [
      ...["/admin/analytics/timeseries", "/admin/analytics/totals", "/admin/analytics/top", "/admin/analytics/requests", "/admin/analytics/consumers/c1"].map((path): [string, string] => [path, readToken]),
      ...["/consumer/analytics/timeseries", "/consumer/analytics/usage", "/consumer/analytics/requests"].map((path): [string, string] => [path, c1Key]),
    ];
    let refused = 0;
    for (const [path, token] of paths) {
      for (const parameter of parameters) {
        for (const value of hostile) {
          const response = await h.call("GET", `${path}?${parameter}=${encodeURIComponent(value)}`, { token });
          expect(response.status, `${path} ${parameter}=${value}`).toBe(400);
          refused += 1;
        }
      }
    }
    for (const value of hostile) {
      expect((await h.call("GET", `/admin/analytics/consumers/${encodeURIComponent(value)}`, { token: readToken })).status).toBe(400);
    }
    expect(refused).toBe(paths.length * parameters.length * hostile.length);
    // Intact: the raw table the attacks name, the rollup and the checkpoint hold what was written.
    const store = SqliteAnalyticsStore.open({ file: join(dir, "analytics.db"), readonly: true });
    try {
      expect(await store.query(`SELECT count(*) AS n FROM ${store.tables.requests}`)).toEqual([{ n: 300 }]);
      expect(await store.query(`SELECT sum(requests) AS n FROM ${store.tables.rollup}`)).toEqual([{ n: 300 }]);
      expect(await store.loadCheckpoint("analytics-projector")).toBe(300n);
    } finally {
      await store.close();
    }
    const totals = await h.call<{ requests: number }>("GET", `/admin/analytics/totals?${range}`, { token: readToken });
    expect(totals.body.requests).toBe(300);
    const list = await h.call<{ requests: unknown[]; more: boolean }>("GET", `/admin/analytics/requests?${range}&limit=500`, { token: readToken });
    expect(list.body.requests).toHaveLength(300);
    expect(list.body.more).toBe(false);
  });

  it(".error: huge ranges, too many points, unknown fields and repeated parameters get 400", async () => {
    for (const query of [
      "from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
      "from=2026-11-01T00:00:00Z&to=2026-11-26T00:00:00Z&interval=1m",
      "from=2026-11-26T11:00:00Z&to=2026-11-26T10:00:00Z",
      "groupBy=client_ip",
      "select=1",
      "routeId=a&routeId=b",
      "limit=100000",
    ]) {
      const response = await h.call("GET", `/admin/analytics/timeseries?${query}`, { token: readToken });
      expect(response.status, query).toBe(400);
      expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    }
  });
});

describe("analytics API with its store down", () => {
  it(".error: answers 503 analytics-unavailable, and tells nothing of the store", async () => {
    const h = await startHarness({ analytics: { clickhouse: { url: "http://127.0.0.1:9", database: "nowhere", requestTimeoutMs: 2_000 } } });
    try {
      const response = await h.call<Record<string, unknown>>("GET", `/admin/analytics/totals?${range}`, { token: readToken });
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ code: "analytics-unavailable", status: 503 });
      expect(JSON.stringify(response.body)).not.toContain("127.0.0.1");
    } finally {
      await h.close();
    }
  });
});
