import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnalyticsQueries, SqliteAnalyticsStore } from "@tollgate/analytics";
import { streams } from "@tollgate/events";
import { SqliteEventStore } from "@tollgate/eventstore";
import { createLogger, createMetricsRegistry } from "@tollgate/observability";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnalyticsProjectorConfig } from "./analytics-projector-config.js";
import { rebuildAnalyticsProjection, startAnalyticsProjector } from "./analytics-projector-service.js";

// The service in-process, on a real SQLite log and a real SQLite analytics file.
const start = Date.UTC(2026, 10, 26, 9, 0, 0);
const range = { from: "2026-11-26T08:59:00Z", to: "2026-11-26T10:00:00Z" };

describe("analytics projector service", () => {
  let dir: string;
  let config: AnalyticsProjectorConfig;
  const logger = createLogger({ name: "analytics-projector-test", level: "silent" });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-analytics-service-"));
    const eventsFile = join(dir, "events.db");
    const log = SqliteEventStore.open({ file: eventsFile, synchronous: "normal", busyTimeoutMs: 5_000 });
    await log.append(
      streams.requests("gw-1"),
      Array.from({ length: 120 }, (_, index) => ({
        id: randomUUID(),
        type: "RequestCompleted",
        version: 1,
        data: {
          requestId: `r-${index}`,
          gatewayId: "gw-1",
          startedAt: new Date(start + index * 10_000).toISOString(),
          durationMs: 1 + (index % 17),
          routeId: "orders",
          method: "GET",
          path: "/orders",
          routeTemplate: "/orders",
          status: index % 6 === 0 ? 503 : 200,
          clientIp: "127.0.0.1",
          bytesIn: 0,
          bytesOut: 2,
          controlPlaneVersion: null,
          consumerId: index % 2 === 0 ? "acme" : null,
          credentialId: null,
          planId: null,
          subscriptionId: null,
          upstream: "http://u",
          attempts: 1,
          upstreamLatencyMs: 1,
          cacheStatus: "none",
        },
      })),
    );
    await log.close();
    config = AnalyticsProjectorConfig.parse({
      eventStore: { kind: "sqlite", file: eventsFile },
      analytics: { sqlite: { file: join(dir, "analytics.db") } },
      runner: { maxBatchSize: 50, maxBatchWaitMs: 10 },
      status: { port: 0 },
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("projects the log, reports lag and throughput on /metrics, and a rebuild gives the same answers", async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const running = await startAnalyticsProjector(config, { logger, registry, env: {} });
    try {
      for (let attempt = 0; attempt < 500 && (await running.store.loadCheckpoint(config.name)) === null; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      for (let attempt = 0; attempt < 500 && running.runner.status().eventsHandled < 120; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(running.ready()).toBe(true);
      const metrics = await registry.metrics();
      expect(metrics).toContain("tollgate_analytics_projection_events_total 120");
      expect(metrics).toContain("tollgate_analytics_rows_inserted_total 120");
      expect(metrics).toContain("tollgate_analytics_projection_lag_seconds 0");
      expect(metrics).toContain("tollgate_analytics_projection_behind_positions 0");
    } finally {
      await running.close();
    }
    const read = async (): Promise<unknown> => {
      const store = SqliteAnalyticsStore.open({ file: join(dir, "analytics.db") });
      try {
        const queries = new AnalyticsQueries(store);
        return [await queries.totals(range), await queries.timeSeries({ ...range, interval: "5m", groupBy: "consumer" })];
      } finally {
        await store.close();
      }
    };
    const before = await read();
    expect((before as [{ requests: number; errors: number }])[0]).toMatchObject({ requests: 120, errors: 20 });
    const summary = await rebuildAnalyticsProjection(config, { logger, env: {} });
    expect(summary).toMatchObject({ engine: "sqlite", events: 120 });
    expect(await read()).toEqual(before);
  });

  it("refuses a config with every problem listed", () => {
    const result = AnalyticsProjectorConfig.safeParse({ analytics: { clickhouse: { url: "ftp://x", database: "a-b" } }, retention: { rawDays: 0 }, bogus: 1 });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => issue.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["analytics.clickhouse.url", "analytics.clickhouse.database", "retention.rawDays"]));
  });
});
