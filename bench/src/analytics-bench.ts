import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { AnalyticsQueries, ClickHouseAnalyticsStore, latencyBucket, SqliteAnalyticsStore, type AnalyticsStore, type RequestRow } from "@tollgate/analytics";
import { createAnalyticsProjector } from "@tollgate/analytics-projector";
import { PrivateClickHouseServer } from "@tollgate/analytics/testing";
import { streams } from "@tollgate/events";
import { SqliteEventStore, SubscriptionRunner, type EventToAppend, type Position } from "@tollgate/eventstore";

/**
 * The analytics benchmark (a script, not a test; docs/analytics.md has the figures):
 *
 * 1. projector throughput: request events from a SQLite log into ClickHouse and into
 *    the embedded SQLite store, through the real projector and subscription runner
 *    (parse, project, validate, insert, checkpoint), in events per second;
 * 2. query latency: the 24-hour time series at 1-minute points over 1,000,000 raw rows
 *    (and their rollups), through the query module the API uses.
 *
 * ClickHouse is a private clickhouse-server on free ports (stopped by PID at the end).
 *
 *   node bench/dist/analytics-bench.js [--events 100000] [--rows 1000000] [--engines clickhouse,sqlite] [--parts throughput,query]
 */

const log = (line: string): void => void process.stdout.write(`${line}\n`);
const { values } = parseArgs({
  options: {
    events: { type: "string", default: "100000" },
    rows: { type: "string", default: "1000000" },
    engines: { type: "string", default: "clickhouse,sqlite" },
    parts: { type: "string", default: "throughput,query" },
    runs: { type: "string", default: "7" },
  },
});
const eventCount = Number(values.events);
const rowCount = Number(values.rows);
const runs = Number(values.runs);
const engines = values.engines.split(",");
const parts = values.parts.split(",");

let seed = 42;
function random(): number {
  seed = (seed * 16_807) % 2_147_483_647;
  return seed / 2_147_483_647;
}
const routes = ["orders", "users", "search", "billing", "auth"];
const consumers = Array.from({ length: 50 }, (_, index) => `consumer-${index}`);
const statuses = [200, 200, 200, 200, 200, 201, 204, 304, 400, 401, 404, 429, 500, 502, 503];
/** Log-normal-ish latencies between 0.1 ms and 400 ms. */
const duration = (): number => Math.round(Math.exp(random() * 8) * 100 * (0.5 + random())) / 1_000;

async function seedLog(file: string, count: number, startMs: number): Promise<Position> {
  const store = SqliteEventStore.open({ file, synchronous: "normal", busyTimeoutMs: 5_000 });
  try {
    for (let done = 0; done < count; done += 1_000) {
      const batch: EventToAppend[] = [];
      for (let index = done; index < Math.min(count, done + 1_000); index += 1) {
        const consumer = consumers[Math.floor(random() * consumers.length)]!;
        batch.push({
          id: randomUUID(),
          type: "RequestCompleted",
          version: 1,
          data: {
            requestId: `r-${index}`,
            gatewayId: "gw-bench",
            startedAt: new Date(startMs + Math.floor((index / count) * 3_600_000)).toISOString(),
            durationMs: duration(),
            routeId: routes[index % routes.length]!,
            method: "GET",
            path: "/bench/path",
            routeTemplate: "/bench",
            status: statuses[Math.floor(random() * statuses.length)]!,
            clientIp: "127.0.0.1",
            bytesIn: 0,
            bytesOut: 512,
            controlPlaneVersion: "1",
            consumerId: consumer,
            credentialId: `key-${consumer}`,
            planId: consumer.endsWith("0") ? "gold" : "free",
            subscriptionId: `sub-${consumer}`,
            upstream: "http://127.0.0.1:9000",
            attempts: 1,
            upstreamLatencyMs: 1,
            cacheStatus: "none",
          },
        });
      }
      await store.append(streams.requests("gw-bench"), batch);
    }
    return (await store.readLatest(1)).at(-1)!.position;
  } finally {
    await store.close();
  }
}

async function projectAll(eventsFile: string, store: AnalyticsStore, last: Position): Promise<number> {
  const log = SqliteEventStore.open({ file: eventsFile, synchronous: "normal", busyTimeoutMs: 5_000 });
  const checkpoints = log.checkpointStore();
  const projector = createAnalyticsProjector({ name: `bench-${randomUUID()}`, store });
  const started = performance.now();
  let reached: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (reached = resolve));
  const runner = new SubscriptionRunner({
    store: log,
    checkpoints,
    projector,
    maxBatchSize: 5_000,
    maxBatchWaitMs: 1_000,
    onBatch: ({ checkpoint }) => {
      if (checkpoint >= last) reached();
    },
  }).start();
  await done;
  const seconds = (performance.now() - started) / 1_000;
  await runner.stop();
  await log.close();
  return seconds;
}

function rowsFor24h(count: number, endMs: number, offset: number): RequestRow[] {
  const rows: RequestRow[] = [];
  for (let index = 0; index < count; index += 1) {
    const startedAt = endMs - 86_400_000 + Math.floor(random() * 86_400_000);
    const status = statuses[Math.floor(random() * statuses.length)]!;
    const consumer = consumers[Math.floor(random() * consumers.length)]!;
    const ms = duration();
    rows.push({
      event_id: `bench-${offset + index}`,
      position: String(offset + index + 1),
      event_type: "RequestCompleted",
      request_id: `r-${offset + index}`,
      gateway_id: "gw-bench",
      started_at_ms: startedAt,
      minute: Math.floor(startedAt / 60_000) * 60,
      route_id: routes[Math.floor(random() * routes.length)]!,
      method: "GET",
      path: "/bench/path",
      status,
      status_class: Math.floor(status / 100),
      consumer_id: consumer,
      plan_id: consumer.endsWith("0") ? "gold" : "free",
      subscription_id: `sub-${consumer}`,
      duration_ms: ms,
      latency_bucket: latencyBucket(ms),
      bytes_in: 0,
      bytes_out: 512,
      outcome: "cache:none",
      graphql_operation: "",
      graphql_operation_type: "",
    });
  }
  return rows;
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms, min ${sorted[0]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (${sorted.length} runs)`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-analytics-bench-"));
  const clickhouse = engines.includes("clickhouse") ? await PrivateClickHouseServer.start() : null;
  const open = (engine: string, label: string): AnalyticsStore =>
    engine === "clickhouse" ? ClickHouseAnalyticsStore.open({ url: clickhouse!.url, database: `bench_${label}` }) : SqliteAnalyticsStore.open({ file: join(dir, `${label}.db`) });
  try {
    if (clickhouse) log(`clickhouse: ${(await (await fetch(`${clickhouse.url}/?query=SELECT%20version()`)).text()).trim()} (private server, pid ${String(clickhouse.pid)})`);
    if (parts.includes("throughput")) {
      const eventsFile = join(dir, "events.db");
      const seeding = performance.now();
      const last = await seedLog(eventsFile, eventCount, Date.now() - 3_600_000);
      log(`seeded ${eventCount} RequestCompleted events into a SQLite log in ${((performance.now() - seeding) / 1_000).toFixed(1)} s`);
      for (const engine of engines) {
        const store = open(engine, "throughput");
        await store.migrate();
        const seconds = await projectAll(eventsFile, store, last);
        const totals = await new AnalyticsQueries(store).totals({ from: new Date(Date.now() - 2 * 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() });
        await store.close();
        log(`projector → ${engine}: ${eventCount} events in ${seconds.toFixed(2)} s = ${Math.round(eventCount / seconds)} events/s (batches of 5,000; ${totals.requests} counted)`);
      }
    }
    if (parts.includes("query")) {
      const endMs = Math.floor(Date.now() / 60_000) * 60_000;
      for (const engine of engines) {
        const store = open(engine, "query");
        await store.migrate();
        const loading = performance.now();
        for (let done = 0; done < rowCount; done += 100_000) {
          const rows = rowsFor24h(Math.min(100_000, rowCount - done), endMs, done);
          await store.writeBatch("bench", rows, BigInt(done + rows.length));
        }
        log(`${engine}: loaded ${rowCount} raw rows over 24 h in ${((performance.now() - loading) / 1_000).toFixed(1)} s`);
        const queries = new AnalyticsQueries(store);
        const window = { from: new Date(endMs - 86_400_000).toISOString(), to: new Date(endMs).toISOString() };
        for (const groupBy of ["none", "route"] as const) {
          const samples: number[] = [];
          let points = 0;
          let requests = 0;
          for (let run = 0; run < runs; run += 1) {
            const started = performance.now();
            const result = await queries.timeSeries({ ...window, interval: "1m", groupBy });
            samples.push(performance.now() - started);
            points = result.points.length;
            requests = result.points.reduce((sum, point) => sum + point.requests, 0);
          }
          log(`${engine}: 24 h time series, 1-minute points, groupBy=${groupBy} (${points} points, ${requests} requests, p50/p95/p99 each): ${summary(samples)}`);
        }
        await store.close();
      }
    }
  } finally {
    await clickhouse?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`analytics bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
