import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { quotaCounterKey, quotaWindow, streams, type TollgateEvent } from "@tollgate/events";
import { openSqliteDatabase, SqliteEventStore } from "@tollgate/eventstore";
import { createLogger, createMetricsRegistry } from "@tollgate/observability";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { QuotaProjectorConfig } from "./quota-projector-config.js";
import { QUOTA_STORE_SCHEMA_VERSION } from "./quota-store-schema.js";
import { billingRulesFor, startQuotaProjector, type RunningQuotaProjector } from "./quota-projector-service.js";
import { completed, planCreated, subscriptionStarted } from "./test-support/event-fixtures.js";

const redisUrl = process.env.TOLLGATE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

describe("startQuotaProjector on a file of schema version 1 (the shared Redis, under a unique prefix)", () => {
  const prefix = `tollgate-test:quota-service:${randomUUID()}:`;
  let dir: string | undefined;
  let running: RunningQuotaProjector | undefined;
  let client: Redis | undefined;

  afterEach(async () => {
    await running?.close();
    running = undefined;
    if (client) {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
      client = undefined;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("replays the log from 0, and reconciles Redis only once the replay has caught up: counters consistent with the old refunds never move", async () => {
    dir = await mkdtemp(join(tmpdir(), "tollgate-quota-service-"));
    const eventsFile = join(dir, "events.db");
    const storeFile = join(dir, "quota.db");
    const now = Date.now();
    const startedAt = new Date(now - 1_000).toISOString();

    // The log: a plan of 100 a day, a subscription, 10 requests of which 3 got an upstream 503 (admitted, not billed).
    const log = SqliteEventStore.open({ file: eventsFile, synchronous: "normal", busyTimeoutMs: 5_000 });
    const append = (streamId: string, events: TollgateEvent[]) => log.append(streamId, events.map((event) => ({ id: randomUUID(), ...event })));
    await append(streams.plan("gold"), [planCreated("gold", { limit: 100, period: "day", enforcement: "hard" })]);
    await append(streams.subscription("sub-1"), [subscriptionStarted("sub-1", "gold")]);
    const head = (
      await append(
        streams.requests("gw-1"),
        Array.from({ length: 10 }, (_, n) => completed({ n, startedAt }, n < 3 ? 503 : 200)),
      )
    ).position;
    await log.close();

    // A version 1 projection of that whole log, and the Redis state it left: the gateways
    // admitted 10, version 1 refunded the 3 the plan does not bill.
    const v1 = openSqliteDatabase({ file: storeFile, synchronous: "normal", busyTimeoutMs: 1_000 });
    v1.exec(`
      CREATE TABLE quota_subscription_plans (subscription_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL) STRICT;
      CREATE TABLE quota_usage (subscription_id TEXT NOT NULL, period TEXT NOT NULL, period_start INTEGER NOT NULL, period_end INTEGER NOT NULL,
        plan_id TEXT, quota_limit INTEGER, quota_period TEXT, quota_enforcement TEXT, requests INTEGER NOT NULL, admitted INTEGER NOT NULL,
        billable INTEGER NOT NULL, PRIMARY KEY (subscription_id, period, period_start)) STRICT;
    `);
    v1.prepare("INSERT INTO checkpoints (name, position, updated_at) VALUES ('quota-projector', ?, 0)").run(String(head));
    v1.close();
    client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    client.on("error", () => undefined);
    await client.connect();
    const key = quotaCounterKey(prefix, "sub-1", quotaWindow(now, "day"));
    await client.set(key, "7", "PX", 3_600_000);
    await client.set(`${key}:refunded`, "3", "PX", 3_600_000);

    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ name: "quota-projector", level: "info", destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    const config = QuotaProjectorConfig.parse({
      eventStore: { kind: "sqlite", file: eventsFile },
      store: { file: storeFile },
      redis: { url: redisUrl, keyPrefix: prefix, sweepIntervalMs: 100 },
      // Batches of 2: without the wait, the first request batches would reconcile partial
      // counts (0 refunds) against the old marker (3) and raise the counter to 10.
      runner: { maxBatchSize: 2, maxBatchWaitMs: 0 },
    });
    running = await startQuotaProjector(config, { logger, registry: createMetricsRegistry() });

    expect(lines.find((line) => String(line.msg).startsWith("quota projection file had another schema version"))).toMatchObject({ fromVersion: 1, toVersion: QUOTA_STORE_SCHEMA_VERSION });
    await expect.poll(() => lines.some((line) => String(line.msg).startsWith("replay after the schema reset caught up")), { timeout: 10_000, interval: 10 }).toBe(true);
    await running.reconciliation!.flush();
    expect(running.store.usage()).toEqual([expect.objectContaining({ subscriptionId: "sub-1", requests: 10, admitted: 10, billable: 7 })]);
    // The first reconciliation saw the complete counts: nothing to refund, nothing to restore.
    expect(running.reconciliation!.stats()).toMatchObject({ refunded: 0, restored: 0, errors: 0 });
    expect(await client.get(key)).toBe("7");
    expect(await client.get(`${key}:refunded`)).toBe("3");
  });
});

describe("billingRulesFor: the configured defaults, the config's per-plan override, then the plan's own rules", () => {
  it("keeps a configured default that a per-plan override leaves out, and lets the plan's rules win", () => {
    const config = QuotaProjectorConfig.parse({
      eventStore: { kind: "sqlite", file: "/tmp/unused.db" },
      store: { file: "/tmp/unused-quota.db" },
      billing: { defaults: { cacheHits: false }, plans: { gold: { upstreamServerErrors: true } } },
    });
    const rulesFor = billingRulesFor(config);
    expect(rulesFor("gold", null)).toMatchObject({ cacheHits: false, upstreamServerErrors: true });
    expect(rulesFor("silver", null)).toMatchObject({ cacheHits: false, upstreamServerErrors: false });
    expect(rulesFor("gold", { upstreamServerErrors: false, cacheHits: true })).toMatchObject({ cacheHits: true, upstreamServerErrors: false });
    expect(rulesFor(null, { fallbacks: true })).toMatchObject({ cacheHits: false, fallbacks: true });
  });
});
