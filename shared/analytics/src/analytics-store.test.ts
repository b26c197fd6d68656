import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnalyticsStore } from "./analytics-store.js";
import { ClickHouseAnalyticsStore } from "./clickhouse/clickhouse-analytics-store.js";
import { defaultMigrationsDir } from "./clickhouse/clickhouse-migrations.js";
import { AnalyticsQueries } from "./query/analytics-queries.js";
import { exactPercentile, LATENCY_RELATIVE_ACCURACY } from "./query/latency-histogram.js";
import { UnsafeSqlValueError } from "./sql/sql-literal.js";
import { SqliteAnalyticsStore } from "./sqlite/sqlite-analytics-store.js";
import { requestRows } from "./test-support/request-rows.js";
import { PrivateClickHouseServer } from "./testing/private-clickhouse-server.js";

// Both adapters against their real engines: a private clickhouse-server (18.16 here) and a temp SQLite file.
let clickhouse: PrivateClickHouseServer;
let dir: string;
let databaseCounter = 0;

beforeAll(async () => {
  clickhouse = await PrivateClickHouseServer.start();
  dir = mkdtempSync(join(tmpdir(), "tollgate-analytics-"));
});
afterAll(async () => {
  await clickhouse?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Each call gives an opener of a fresh file or database; the opener can open it again, as a restarted process would. */
const engines: [string, () => () => AnalyticsStore][] = [
  [
    "sqlite",
    () => {
      const file = join(dir, `a${(databaseCounter += 1)}.db`);
      return () => SqliteAnalyticsStore.open({ file });
    },
  ],
  [
    "clickhouse",
    () => {
      const database = `t${(databaseCounter += 1)}`;
      return () => ClickHouseAnalyticsStore.open({ url: clickhouse.url, database });
    },
  ],
];

const from = "2026-11-26T10:00:00Z";
const to = "2026-11-26T11:00:00Z";

describe.each(engines)("%s analytics store", (_engine, fresh) => {
  it("migrates once, and tracks what it applied", async () => {
    const store = fresh()();
    try {
      expect(await store.migrate()).toEqual(["0001_requests", "0002_requests_per_minute", "0003_graphql_operation"]);
      expect(await store.migrate()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("counts a batch re-delivered after a failed write once, and keeps the checkpoint", async () => {
    const store = fresh()();
    try {
      await store.migrate();
      const rows = requestRows(500);
      expect(await store.writeBatch("p", rows.slice(0, 300), 300n)).toEqual({ inserted: 300, skipped: 0 });
      expect(await store.loadCheckpoint("p")).toBe(300n);
      // The write fails between the rows and the checkpoint, as a lost connection would; the
      // runner then re-delivers the same batch to the same writer.
      const failing = store.writeBatch("p", rows.slice(300), 500n, {
        beforeCheckpoint: () => Promise.reject(new Error("connection lost before the checkpoint")),
      });
      await expect(failing).rejects.toThrow("connection lost");
      expect(await store.loadCheckpoint("p")).toBe(300n);
      // ClickHouse kept the rows (no transaction) and skips them now; SQLite rolled them back.
      expect(await store.writeBatch("p", rows.slice(300), 500n)).toEqual(store.engine === "clickhouse" ? { inserted: 0, skipped: 200 } : { inserted: 200, skipped: 0 });
      expect(await store.loadCheckpoint("p")).toBe(500n);
      const totals = await new AnalyticsQueries(store).totals({ from, to });
      expect(totals.requests).toBe(500);
      expect(totals.errors).toBe(rows.filter((row) => row.status >= 400).length);
      expect(Number((await store.query(`SELECT count(*) AS n FROM ${store.tables.requests}`))[0]!.n)).toBe(500);
    } finally {
      await store.close();
    }
  });

  it("after a crash between rows and checkpoint, a restarted writer skips the rows already there", async () => {
    const reopen = fresh();
    const first = reopen();
    await first.migrate();
    const rows = requestRows(1_000);
    await first.writeBatch("p", rows.slice(0, 400), 400n);
    // The crash: a batch's rows land, its checkpoint does not (it is written under another name).
    await first.writeBatch("other", rows.slice(400, 700), 700n);
    await first.close();
    const second = reopen();
    try {
      expect(await second.loadCheckpoint("p")).toBe(400n);
      // The runner re-delivers from 400, batched differently this time.
      expect(await second.writeBatch("p", rows.slice(400, 550), 550n)).toEqual({ inserted: 0, skipped: 150 });
      expect(await second.writeBatch("p", rows.slice(550), 1_000n)).toEqual({ inserted: 300, skipped: 150 });
      const totals = await new AnalyticsQueries(second).totals({ from, to });
      expect(totals.requests).toBe(1_000);
      const series = await new AnalyticsQueries(second).timeSeries({ from, to, interval: "1m", groupBy: "route" });
      expect(series.points.reduce((sum, point) => sum + point.requests, 0)).toBe(1_000);
    } finally {
      await second.close();
    }
  });

  it("answers time series, totals and top N that agree with the rows", async () => {
    const store = fresh()();
    try {
      await store.migrate();
      const rows = requestRows(3_000);
      await store.writeBatch("p", rows.slice(0, 1_000), 1_000n);
      await store.writeBatch("p", rows.slice(1_000), 3_000n);
      const queries = new AnalyticsQueries(store);
      const series = await queries.timeSeries({ from, to, interval: "5m", groupBy: "consumer" });
      expect(series.points.reduce((sum, point) => sum + point.requests, 0)).toBe(3_000);
      const totals = await queries.totals({ from, to });
      for (const [p, key] of [[0.5, "p50"], [0.95, "p95"], [0.99, "p99"]] as const) {
        const exact = exactPercentile(rows.map((row) => row.duration_ms), p)!;
        expect(Math.abs(totals[key]! - exact)).toBeLessThanOrEqual(exact * LATENCY_RELATIVE_ACCURACY + 0.001);
      }
      const top = await queries.top({ from, to, by: "consumer", metric: "requests", limit: 10 });
      for (const entry of top.entries) {
        expect(entry.requests).toBe(rows.filter((row) => row.consumer_id === (entry.key ?? "")).length);
      }
      const page = await queries.requests({ from, to, consumerId: "consumer-1", limit: 20, offset: 0 });
      expect(page.requests).toHaveLength(20);
      expect(page.more).toBe(true);
      expect(page.requests.every((request) => request.consumerId === "consumer-1")).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("ranks GraphQL operations (top by=operation) from the raw rows, with filters and percentiles", async () => {
    const store = fresh()();
    try {
      await store.migrate();
      const rows = requestRows(2_000);
      await store.writeBatch("p", rows, 2_000n);
      const queries = new AnalyticsQueries(store);
      const graphql = rows.filter((row) => row.graphql_operation_type !== "");
      const top = await queries.top({ from, to, by: "operation", metric: "requests", limit: 10 });
      expect(top.by).toBe("operation");
      expect(top.entries.map((entry) => entry.key).sort()).toEqual(["GetOrder", "ListUsers", null].sort());
      for (const entry of top.entries) {
        const matching = graphql.filter((row) => row.graphql_operation === (entry.key ?? ""));
        expect(entry.requests).toBe(matching.length);
        expect(entry.errors).toBe(matching.filter((row) => row.status >= 400).length);
        const exact = exactPercentile(matching.map((row) => row.duration_ms), 0.95)!;
        expect(Math.abs(entry.p95! - exact)).toBeLessThanOrEqual(exact * LATENCY_RELATIVE_ACCURACY + 0.001);
      }
      const page = await queries.requests({ from, to, limit: 500, offset: 0 });
      const operationOf = new Map(rows.map((row) => [row.event_id, row.graphql_operation === "" ? null : row.graphql_operation]));
      expect(page.requests.map((request) => request.graphqlOperation)).toEqual(page.requests.map((request) => operationOf.get(request.eventId)));
      expect(page.requests.some((request) => request.graphqlOperation !== null)).toBe(true);
      const ordersOnly = await queries.top({ from, to, by: "operation", metric: "requests", limit: 10, routeId: "orders" });
      const total = ordersOnly.entries.reduce((sum, entry) => sum + entry.requests, 0);
      expect(total).toBe(graphql.filter((row) => row.route_id === "orders").length);
    } finally {
      await store.close();
    }
  });

  it("retention removes raw rows older than the cut-off (whole days on ClickHouse) and keeps the rollups", async () => {
    const store = fresh()();
    try {
      await store.migrate();
      const old = requestRows(200, { startMs: Date.UTC(2026, 9, 1, 10, 0, 0), minutes: 60, firstPosition: 1 });
      const recent = requestRows(300, { startMs: Date.UTC(2026, 10, 26, 10, 0, 0), minutes: 30, firstPosition: 1_000 });
      await store.writeBatch("p", old, 200n);
      await store.writeBatch("p", recent, 1_300n);
      const result = await store.applyRetention(new Date(Date.UTC(2026, 10, 20)));
      expect(result.removed).toBe(store.engine === "clickhouse" ? 1 : 200);
      const raw = await store.query(`SELECT count(*) AS n FROM ${store.tables.requests}`);
      expect(Number(raw[0]!.n)).toBe(300);
      const queries = new AnalyticsQueries(store);
      expect((await queries.totals({ from: "2026-10-01T00:00:00Z", to: "2026-10-02T00:00:00Z" })).requests).toBe(200);
      expect((await queries.requests({ from: "2026-10-01T00:00:00Z", to: "2026-10-02T00:00:00Z", limit: 10, offset: 0 })).requests).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("refuses injection attempts that bypass the API's schemas, and leaves the tables intact", async () => {
    const store = fresh()();
    try {
      await store.migrate();
      await store.writeBatch("p", requestRows(100), 100n);
      const queries = new AnalyticsQueries(store);
      for (const hostile of ["x' OR '1'='1", "x'; DROP TABLE requests; --", "a\\' OR 1=1 --", "1) OR (1=1"]) {
        await expect(queries.totals({ from, to, consumerId: hostile })).rejects.toThrow(UnsafeSqlValueError);
        await expect(queries.requests({ from, to, routeId: hostile, limit: 10, offset: 0 })).rejects.toThrow(UnsafeSqlValueError);
      }
      expect((await queries.totals({ from, to })).requests).toBe(100);
    } finally {
      await store.close();
    }
  });
});

describe("clickhouse migrations", () => {
  it("add the GraphQL columns to tables migrated before them, and survive a migration interrupted after its first ALTER", async () => {
    const database = `t${(databaseCounter += 1)}`;
    const oldDir = mkdtempSync(join(tmpdir(), "tollgate-migrations-"));
    try {
      for (const file of ["0001_requests.sql", "0002_requests_per_minute.sql"]) copyFileSync(join(defaultMigrationsDir, file), join(oldDir, file));
      const before = ClickHouseAnalyticsStore.open({ url: clickhouse.url, database, migrationsDir: oldDir });
      expect(await before.migrate()).toEqual(["0001_requests", "0002_requests_per_minute"]);
      await before.close();
      // As if the process died right after the first ALTER of 0003: the column exists, the migration is not recorded.
      const alter = await fetch(`${clickhouse.url}/?database=${database}`, { method: "POST", body: "ALTER TABLE requests ADD COLUMN graphql_operation String DEFAULT ''" });
      expect(alter.status).toBe(200);
      const after = ClickHouseAnalyticsStore.open({ url: clickhouse.url, database });
      try {
        expect(await after.migrate()).toEqual(["0003_graphql_operation"]);
        await after.writeBatch("p", requestRows(100), 100n);
        const top = await new AnalyticsQueries(after).top({ from, to, by: "operation", metric: "requests", limit: 10 });
        expect(top.entries.reduce((sum, entry) => sum + entry.requests, 0)).toBe(20);
      } finally {
        await after.close();
      }
    } finally {
      rmSync(oldDir, { recursive: true, force: true });
    }
  });
});

describe("both engines", () => {
  it("give identical answers, percentiles included, for the same rows", async () => {
    const stores = engines.map(([, fresh]) => fresh()());
    try {
      const rows = requestRows(4_000, { seed: 99 });
      const answers = [];
      for (const store of stores) {
        await store.migrate();
        await store.writeBatch("p", rows.slice(0, 2_500), 2_500n);
        await store.writeBatch("p", rows.slice(2_500), 4_000n);
        const queries = new AnalyticsQueries(store);
        answers.push([
          await queries.totals({ from, to }),
          await queries.timeSeries({ from, to, interval: "1m", groupBy: "none" }),
          await queries.timeSeries({ from, to, interval: "15m", groupBy: "status" }),
          await queries.top({ from, to, by: "plan", metric: "p99", limit: 10 }),
          await queries.top({ from, to, by: "route", metric: "errors", limit: 2, consumerId: "consumer-1" }),
          await queries.totals({ from: "2026-11-27T00:00:00Z", to: "2026-11-27T01:00:00Z" }),
        ]);
      }
      expect(answers[1]).toEqual(answers[0]);
    } finally {
      for (const store of stores) await store.close();
    }
  });
});
