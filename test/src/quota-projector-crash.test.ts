import { randomUUID } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { streams } from "@tollgate/events";
import { type EventToAppend, SqliteEventStore } from "@tollgate/eventstore";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { redisDeleteKeys, redisGetNumber, sharedRedisUrl, uniqueRedisPrefix } from "./support/redis-cli.js";
import { spawnJsonLogProcess, type JsonLogProcess } from "./support/json-log-process.js";
import { waitFor } from "./support/wait-for.js";

/** The built projector; `npx turbo run build --filter=@tollgate/quota-projector...` builds it. */
const projectorMain = fileURLToPath(new URL("../../services/quota-projector/dist/main.js", import.meta.url));

const REQUESTS = 3_000;
const BATCH = 100;
const KILLED_IN_BATCH = 3;
const HOLD_MS = 500;
const dayMs = 86_400_000;
const actor = { kind: "admin", id: "crash-test" };

type Kind = "ok" | "client-error" | "upstream-5xx" | "cache-hit" | "gateway-failure" | "rate-limited" | "anonymous";
const kinds: Kind[] = ["ok", "ok", "ok", "client-error", "upstream-5xx", "cache-hit", "gateway-failure", "rate-limited", "anonymous"];

interface Expected {
  requests: number;
  admitted: number;
  billable: number;
}

interface Seeded {
  eventsFile: string;
  /** Position of the last event the projector reads. */
  last: bigint;
  /** What the projection must hold: "<subscription>|<period>|<period start ms>" → counts. Computed here, independently of the projector. */
  expected: Map<string, Expected>;
}

/**
 * The log: three plans (gold 500/day hard, whose cache hits are free by config; silver
 * 1,000/month overage, whose upstream 5xx are billed by config; free, no quota), six
 * subscriptions, then 3,000 request events of every kind over three gateways' streams
 * and two UTC days, with sub-1 moving from gold to silver half-way. Consumer events the
 * projector does not read are mixed in.
 */
async function seedLog(dir: string): Promise<Seeded> {
  const eventsFile = join(dir, "events.db");
  const store = SqliteEventStore.open({ file: eventsFile, synchronous: "normal", busyTimeoutMs: 5_000 });
  const today = Math.floor(Date.now() / dayMs) * dayMs;
  const days = [today - dayMs, today];
  const monthStart = (at: number): number => Date.UTC(new Date(at).getUTCFullYear(), new Date(at).getUTCMonth(), 1);
  const plans: Record<string, { quota: { limit: number; period: "day" | "month"; enforcement: "hard" | "overage" } | null }> = {
    gold: { quota: { limit: 500, period: "day", enforcement: "hard" } },
    silver: { quota: { limit: 1_000, period: "month", enforcement: "overage" } },
    free: { quota: null },
  };
  const planOf = new Map<string, string>([
    ["sub-0", "gold"],
    ["sub-1", "gold"],
    ["sub-2", "silver"],
    ["sub-3", "silver"],
    ["sub-4", "free"],
    ["sub-5", "gold"],
  ]);
  const expected = new Map<string, Expected>();
  const event = (type: string, data: Record<string, unknown>): EventToAppend => ({ id: randomUUID(), type, version: 1, data });
  try {
    for (const [planId, { quota }] of Object.entries(plans)) {
      await store.append(streams.plan(planId), [
        event("PlanCreated", {
          planId,
          name: planId,
          description: "",
          public: true,
          rateLimits: [],
          quota,
          routes: ["*"],
          scopes: [],
          price: { stripePriceId: null, stripeMeterEventName: null },
          actor,
        }),
      ]);
    }
    for (const [subscriptionId, planId] of planOf) {
      await store.append(streams.subscription(subscriptionId), [event("SubscriptionStarted", { subscriptionId, consumerId: `c-${subscriptionId}`, planId, actor })]);
    }

    for (let n = 0; n < REQUESTS; n += 50) {
      const batch: EventToAppend[] = [];
      for (let i = n; i < n + 50; i++) {
        // Every subscription sees every kind of request on both days.
        const kind = kinds[Math.floor(i / 6) % kinds.length]!;
        const subscriptionId = kind === "anonymous" ? null : `sub-${i % 6}`;
        const planId = subscriptionId === null ? null : planOf.get(subscriptionId)!;
        const startedAt = days[Math.floor(i / 54) % 2]! + 1_000 * (i % 3_600) + 17;
        const base = {
          requestId: `req-${i}`,
          gatewayId: `gw-${(n / 50) % 3}`,
          startedAt: new Date(startedAt).toISOString(),
          durationMs: 2,
          routeId: "orders",
          method: "GET",
          path: "/orders",
          routeTemplate: "/orders",
          clientIp: "203.0.113.7",
          bytesIn: 0,
          bytesOut: 12,
          controlPlaneVersion: null,
          consumerId: subscriptionId === null ? null : `c-${subscriptionId}`,
          credentialId: subscriptionId === null ? null : `k-${subscriptionId}`,
          planId,
          subscriptionId,
        };
        const completed = (status: number, cacheStatus: string): EventToAppend =>
          event("RequestCompleted", { ...base, status, upstream: "http://127.0.0.1:9", attempts: 1, upstreamLatencyMs: 1, cacheStatus });
        switch (kind) {
          case "ok":
          case "anonymous":
            batch.push(completed(200, "miss"));
            break;
          case "client-error":
            batch.push(completed(404, "miss"));
            break;
          case "upstream-5xx":
            batch.push(completed(503, "miss"));
            break;
          case "cache-hit":
            batch.push(completed(200, "hit"));
            break;
          case "gateway-failure":
            batch.push(
              event("RequestFailed", { ...base, status: 502, upstream: "http://127.0.0.1:9", attempts: 2, error: "upstream-error", detail: "refused", fallbackServed: false }),
            );
            break;
          case "rate-limited":
            batch.push(event("RequestRejected", { ...base, status: 429, stage: "rate-limit", reason: "per-second", limit: "per-second" }));
            break;
        }
        // The oracle: the rules as docs/rate-limits.md states them, plus this test's per-plan overrides.
        if (subscriptionId !== null && planId !== null) {
          const quota = plans[planId]!.quota;
          const period = quota?.period ?? "month";
          const start = period === "day" ? Math.floor(startedAt / dayMs) * dayMs : monthStart(startedAt);
          const key = `${subscriptionId}|${period}|${start}`;
          const counts = expected.get(key) ?? { requests: 0, admitted: 0, billable: 0 };
          const admitted = kind !== "rate-limited";
          const billable =
            kind === "ok" || kind === "client-error" || (kind === "cache-hit" && planId !== "gold") || (kind === "upstream-5xx" && planId === "silver");
          expected.set(key, { requests: counts.requests + 1, admitted: counts.admitted + (admitted ? 1 : 0), billable: counts.billable + (billable ? 1 : 0) });
        }
      }
      await store.append(streams.requests(`gw-${(n / 50) % 3}`), batch);
      await store.append(`consumer-c-${n}`, [event("ConsumerRegistered", { consumerId: `c-${n}`, name: "x", email: null, labels: {}, actor })]);
      if (n === REQUESTS / 2) {
        await store.append(streams.subscription("sub-1"), [
          event("SubscriptionPlanChanged", { subscriptionId: "sub-1", consumerId: "c-sub-1", fromPlanId: "gold", toPlanId: "silver", actor }),
        ]);
        planOf.set("sub-1", "silver");
      }
    }
    const last = (await store.readLatest(1, { streamPrefixes: ["requests-", "plan-", "subscription-"] })).at(-1)!.position;
    return { eventsFile, last, expected };
  } finally {
    await store.close();
  }
}

interface UsageRow {
  subscription_id: string;
  period: string;
  period_start: number;
  period_end: number;
  plan_id: string | null;
  quota_limit: number | null;
  quota_period: string | null;
  quota_enforcement: string | null;
  requests: number;
  admitted: number;
  billable: number;
}

function readProjection(file: string): { rows: UsageRow[]; checkpoint: bigint | null } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare<[], UsageRow>("SELECT * FROM quota_usage ORDER BY subscription_id, period, period_start").all();
    const checkpoint = db.prepare<[], string>("SELECT position FROM checkpoints WHERE name = 'quota-projector'").pluck().get();
    return { rows, checkpoint: checkpoint === undefined ? null : BigInt(checkpoint) };
  } finally {
    db.close();
  }
}

function asExpected(rows: readonly UsageRow[]): Map<string, Expected> {
  return new Map(rows.map((row) => [`${row.subscription_id}|${row.period}|${row.period_start}`, { requests: row.requests, admitted: row.admitted, billable: row.billable }]));
}

function startProjector(configFile: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): JsonLogProcess {
  return spawnJsonLogProcess(projectorMain, ["--config", configFile, ...args], { ...process.env, ...env });
}

describe("quota projector: killed in the middle of a batch, restarted, rebuilt, replayed", () => {
  let dir: string | undefined;
  const prefix = uniqueRedisPrefix("quota-crash");
  const children: JsonLogProcess[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.signal("SIGKILL");
      await child.exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
    await redisDeleteKeys(sharedRedisUrl, prefix);
  });

  it("counts equal a fresh rebuild from position 0, and the same after a replay; the Redis counters equal the billable counts", async ({ annotate }) => {
    expect(existsSync(projectorMain), `${projectorMain} is missing: npx turbo run build --filter=@tollgate/quota-projector...`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), "tollgate-quota-crash-"));
    const seeded = await seedLog(dir);
    const storeFile = join(dir, "quota.db");
    const configFile = join(dir, "quota-projector.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        eventStore: { kind: "sqlite", file: seeded.eventsFile },
        store: { file: storeFile },
        redis: { url: sharedRedisUrl, keyPrefix: prefix, sweepIntervalMs: 200 },
        billing: { plans: { gold: { cacheHits: false }, silver: { upstreamServerErrors: true } } },
        runner: { maxBatchSize: BATCH, maxBatchWaitMs: 10 },
        status: { port: 0 },
        logLevel: "debug",
        testing: { holdBatchOpenMs: HOLD_MS },
      }),
    );

    // First life: each batch's transaction is held open; killed inside batch 3.
    const first = startProjector(configFile);
    children.push(first);
    const opened = await waitFor(
      `batch ${KILLED_IN_BATCH} to be open (lines: ${JSON.stringify(first.lines.slice(-3))})`,
      () => first.lines.filter((line) => line.msg === "batch open")[KILLED_IN_BATCH - 1],
      30_000,
      2,
    );
    first.signal("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    const killedFirst = BigInt(opened.first as string);
    const afterKill = readProjection(storeFile);
    // Proof that the kill landed inside the batch: its transaction never committed, so the
    // checkpoint is still before it, and the batches before it are all there.
    expect(afterKill.checkpoint).not.toBeNull();
    expect(afterKill.checkpoint! < killedFirst).toBe(true);
    expect(first.lines.filter((line) => line.msg === "batch committed")).toHaveLength(KILLED_IN_BATCH - 1);
    const countedBeforeKill = afterKill.rows.reduce((sum, row) => sum + row.requests, 0);
    expect(countedBeforeKill).toBeGreaterThan(0);

    // Second life: full speed, until it has applied the last event it reads.
    const second = startProjector(configFile, [], { TOLLGATE_QUOTA_PROJECTOR__TESTING__HOLD_BATCH_OPEN_MS: "0", TOLLGATE_QUOTA_PROJECTOR__LOG_LEVEL: "info" });
    children.push(second);
    const listening = await waitFor("the restarted projector to listen", () => second.lines.find((line) => line.msg === "listening"), 20_000);
    await waitFor("the restarted projector to reach the last event", () => readProjection(storeFile).checkpoint === seeded.last, 30_000, 10);
    const recovered = readProjection(storeFile);
    expect(asExpected(recovered.rows)).toEqual(seeded.expected);

    // Its metrics expose the projection lag.
    const metrics = await (await fetch(`http://127.0.0.1:${listening.statusPort as number}/metrics`)).text();
    expect(metrics).toMatch(/^tollgate_quota_projection_lag_seconds\{service="quota-projector"\} 0$/m);
    expect(metrics).toMatch(/^tollgate_quota_projection_checkpoint_position\{service="quota-projector"\} \d+$/m);

    // The reconciler brought every live counter with a quota to the billable count (no
    // gateway counted in this test, so each counter starts missing and is restored).
    const withQuota = recovered.rows.filter((row) => row.quota_limit !== null);
    const keyOf = (row: UsageRow): string => `${prefix}${row.subscription_id}:${row.period}:${new Date(row.period_start).toISOString()}`;
    await waitFor(
      "the Redis counters to equal the billable counts",
      async () => (await Promise.all(withQuota.map(async (row) => (await redisGetNumber(sharedRedisUrl, keyOf(row))) === row.billable))).every(Boolean),
      20_000,
      50,
    );
    second.signal("SIGTERM");
    expect(await second.exited).toBe(0);

    // A fresh rebuild from position 0, into a file of its own, gives the same numbers.
    const rebuiltFile = join(dir, "rebuilt.db");
    const rebuild = startProjector(configFile, ["--rebuild"], { TOLLGATE_QUOTA_PROJECTOR__STORE__FILE: rebuiltFile, TOLLGATE_QUOTA_PROJECTOR__LOG_LEVEL: "info" });
    children.push(rebuild);
    expect(await rebuild.exited).toBe(0);
    const summary = rebuild.lines.find((line) => line.msg === "rebuilt")!;
    expect(summary).toMatchObject({ checkpoint: String(seeded.last), usageRows: recovered.rows.length });
    const rebuilt = readProjection(rebuiltFile);
    expect(rebuilt.rows).toEqual(recovered.rows);

    // A replay of the same store from position 0 (the --rebuild of the live file) too.
    const replay = startProjector(configFile, ["--rebuild"], { TOLLGATE_QUOTA_PROJECTOR__LOG_LEVEL: "info" });
    children.push(replay);
    expect(await replay.exited).toBe(0);
    const replayed = readProjection(storeFile);
    expect(replayed.rows).toEqual(recovered.rows);
    expect(replayed.checkpoint).toBe(seeded.last);
    // And the counters did not move: the reconciliation is idempotent.
    for (const row of withQuota) expect(await redisGetNumber(sharedRedisUrl, keyOf(row))).toBe(row.billable);

    const report =
      `${REQUESTS} request events, ${recovered.rows.length} usage rows: killed inside batch ${KILLED_IN_BATCH} ` +
      `(positions ${String(opened.first)}-${String(opened.last)}, ${countedBeforeKill} requests committed before it); after the restart, ` +
      `a fresh rebuild (${String(summary.events)} events) and a replay, the counts are identical and equal the independently computed ones`;
    console.info(`quota projector crash: ${report}`);
    await annotate(report);
  });
});
