import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnalyticsQueries, ClickHouseAnalyticsStore, SqliteAnalyticsStore, type AnalyticsStore } from "@tollgate/analytics";
import { streams } from "@tollgate/events";
import { SqliteEventStore, type EventToAppend } from "@tollgate/eventstore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAnalyticsProjector, startAnalyticsProjectorProcess } from "./support/analytics-projector-process.js";
import { PrivateClickHouseServer } from "./support/clickhouse-server.js";
import { waitFor } from "./support/wait-for.js";

const REQUESTS = 6_000;
const BATCH = 1_000;
const name = "analytics-projector";
const start = Date.UTC(2026, 10, 25, 22, 0, 0);
const range = { from: new Date(start - 60_000).toISOString(), to: new Date(start + 4 * 3_600_000).toISOString() };

/** 6,000 request events of every outcome over two gateways' streams and four hours, plus control events the projector skips. */
async function seedLog(file: string): Promise<bigint> {
  const store = SqliteEventStore.open({ file, synchronous: "normal", busyTimeoutMs: 5_000 });
  let seed = 5;
  const random = (): number => {
    seed = (seed * 16_807) % 2_147_483_647;
    return seed / 2_147_483_647;
  };
  try {
    for (let chunk = 0; chunk < REQUESTS / 500; chunk += 1) {
      const events: EventToAppend[] = [];
      for (let index = 0; index < 500; index += 1) {
        const n = chunk * 500 + index;
        const consumer = ["acme", "globex", "initech", null][n % 4] ?? null;
        const kind = Math.floor(random() * 5);
        const base = {
          requestId: `r-${n}`,
          gatewayId: chunk % 2 === 0 ? "gw-a" : "gw-b",
          startedAt: new Date(start + Math.floor(random() * 4 * 3_600_000)).toISOString(),
          durationMs: Math.round(Math.exp(random() * 6) * 100) / 1_000,
          routeId: ["orders", "users"][n % 2]!,
          method: "GET",
          path: "/p",
          routeTemplate: "/p",
          clientIp: "127.0.0.1",
          bytesIn: 0,
          bytesOut: 10,
          controlPlaneVersion: null,
          consumerId: consumer,
          credentialId: null,
          planId: consumer === null ? null : consumer === "acme" ? "gold" : "free",
          subscriptionId: null,
        };
        if (kind <= 2) {
          events.push({ id: randomUUID(), type: "RequestCompleted", version: 1, data: { ...base, status: kind === 2 ? 404 : 200, upstream: "http://u", attempts: 1, upstreamLatencyMs: 1, cacheStatus: "none" } });
        } else if (kind === 3) {
          events.push({ id: randomUUID(), type: "RequestRejected", version: 1, data: { ...base, status: 429, stage: "rate-limit", reason: "too many", limit: "per-second" } });
        } else {
          events.push({ id: randomUUID(), type: "RequestFailed", version: 1, data: { ...base, status: 502, upstream: "http://u", attempts: 1, error: "upstream-error", detail: "ECONNRESET", fallbackServed: false } });
        }
      }
      await store.append(streams.requests(chunk % 2 === 0 ? "gw-a" : "gw-b"), events);
      await store.append(streams.consumer(`c-${chunk}`), [{ id: randomUUID(), type: "ConsumerRegistered", version: 1, data: { consumerId: `c-${chunk}` } }]);
    }
    return (await store.readLatest(1, { streamPrefixes: ["requests-"] })).at(-1)!.position;
  } finally {
    await store.close();
  }
}

/** Every kind of answer the API gives, over the whole range: what must not change. */
async function snapshot(store: AnalyticsStore): Promise<unknown> {
  const queries = new AnalyticsQueries(store);
  const answers: unknown[] = [await queries.totals(range)];
  for (const groupBy of ["none", "route", "consumer", "plan", "status"] as const) answers.push(await queries.timeSeries({ ...range, interval: "5m", groupBy }));
  for (const by of ["consumer", "route", "plan"] as const) {
    for (const metric of ["requests", "errors", "p95"] as const) answers.push(await queries.top({ ...range, by, metric, limit: 100 }));
  }
  answers.push(await queries.requests({ ...range, limit: 500, offset: 0 }), await queries.requests({ ...range, limit: 500, offset: 5_700 }));
  return answers;
}

describe.each(["sqlite", "clickhouse"] as const)("analytics projector on %s: crash and replay", (engine) => {
  let dir: string;
  let eventsFile: string;
  let last: bigint;
  let clickhouse: PrivateClickHouseServer | undefined;
  let reference: unknown;

  const analyticsConfig = (label: string): Record<string, unknown> =>
    engine === "sqlite" ? { sqlite: { file: join(dir, `${label}.db`) } } : { clickhouse: { url: clickhouse!.url, database: `crash_${label}` } };
  const openStore = (label: string): AnalyticsStore =>
    engine === "sqlite" ? SqliteAnalyticsStore.open({ file: join(dir, `${label}.db`) }) : ClickHouseAnalyticsStore.open({ url: clickhouse!.url, database: `crash_${label}` });
  const config = (label: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    eventStore: { kind: "sqlite", file: eventsFile },
    analytics: analyticsConfig(label),
    runner: { maxBatchSize: BATCH, maxBatchWaitMs: 20 },
    ...extra,
  });

  const runToEnd = async (label: string, extra: Record<string, unknown> = {}): Promise<void> => {
    const process = await startAnalyticsProjectorProcess(dir, config(label, extra), { name: label });
    const store = openStore(label);
    try {
      await waitFor(`${label} to reach the last request event`, async () => (await store.loadCheckpoint(name)) === last, 30_000, 50);
    } finally {
      await store.close();
      expect(await process.stop()).toBe(0);
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `tollgate-analytics-crash-${engine}-`));
    eventsFile = join(dir, "events.db");
    last = await seedLog(eventsFile);
    if (engine === "clickhouse") clickhouse = await PrivateClickHouseServer.start();
    await runToEnd("reference");
    const store = openStore("reference");
    reference = await snapshot(store);
    expect((await new AnalyticsQueries(store).totals(range)).requests).toBe(REQUESTS);
    await store.close();
  });
  afterAll(async () => {
    await clickhouse?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("SIGKILL in the middle of a batch, then a restart: every query answers as after an uninterrupted run", async () => {
    let held: { first: string; last: string; rows: number } | undefined;
    // Every batch pauses between its rows and its checkpoint; the third one is killed there.
    const crashing = await startAnalyticsProjectorProcess(dir, config("crash", { testing: { holdBeforeCheckpointMs: 400 } }), {
      name: "crash",
      onLine: (line) => {
        if (!line.includes("batch held before checkpoint")) return;
        const batch = JSON.parse(line) as { first: string; last: string; rows: number };
        if (held === undefined && BigInt(batch.first) > BigInt(2 * BATCH)) held = batch;
      },
    });
    // Polled every 5 ms; the batch waits 400 ms for its checkpoint, and the checks below
    // prove the kill landed inside that window.
    const batch = await waitFor("the third batch to be held before its checkpoint", () => held, 30_000, 5);
    await crashing.kill();
    const store = openStore("crash");
    try {
      const checkpoint = await store.loadCheckpoint(name);
      // The batches before it committed; this one's checkpoint did not.
      expect(checkpoint).not.toBeNull();
      expect(checkpoint!).toBeLessThan(BigInt(batch.first));
      expect(checkpoint!).toBeGreaterThanOrEqual(BigInt(2 * BATCH));
      const past = Number((await store.query(`SELECT count(*) AS n FROM ${store.tables.requests} WHERE position > ${checkpoint!.toString()}`))[0]!.n);
      // ClickHouse has no transactions: the killed batch's rows are there, past the checkpoint.
      // SQLite: the batch's transaction never committed, so none are.
      expect(past).toBe(engine === "clickhouse" ? batch.rows : 0);
      expect(batch.rows).toBe(BATCH);
      console.log(`${engine}: killed holding batch ${batch.first}..${batch.last} (${batch.rows} rows written, checkpoint still ${checkpoint!.toString()}); ${past} rows left past the checkpoint`);
    } finally {
      await store.close();
    }
    await runToEnd("crash");
    const after = openStore("crash");
    try {
      expect(await snapshot(after)).toEqual(reference);
    } finally {
      await after.close();
    }
  });

  it("a full replay (--rebuild into fresh tables, then switch) gives identical answers", async () => {
    const result = await runAnalyticsProjector(dir, config("crash"), ["--rebuild"]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('"msg":"rebuilt"');
    const store = openStore("crash");
    try {
      expect(await store.loadCheckpoint(name)).toBe(last);
      expect(await snapshot(store)).toEqual(reference);
    } finally {
      await store.close();
    }
  });

  it("a full replay into the live tables (a projector from position 0 over them) counts nothing twice", async () => {
    // Another name has no checkpoint, so the runner delivers the whole log again, into
    // the tables that already hold every event: each row must be skipped by its event id.
    const replayName = "analytics-replay";
    const replay = await startAnalyticsProjectorProcess(dir, config("crash", { name: replayName }), { name: "replay" });
    const store = openStore("crash");
    try {
      await waitFor("the replay to reach the last request event", async () => (await store.loadCheckpoint(replayName)) === last, 30_000, 50);
      const metrics = await (await fetch(`${replay.statusUrl}/metrics`)).text();
      expect(metrics).toMatch(/^tollgate_analytics_rows_inserted_total(\{[^}]*\})? 0$/m);
      expect(metrics).toMatch(new RegExp(`^tollgate_analytics_rows_skipped_total(\\{[^}]*\\})? ${REQUESTS}$`, "m"));
      expect(await store.loadCheckpoint(name)).toBe(last);
      expect(await snapshot(store)).toEqual(reference);
    } finally {
      await store.close();
      expect(await replay.stop()).toBe(0);
    }
  });
});
