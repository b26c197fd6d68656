import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultBillingRules, streams, type TollgateEvent } from "@tollgate/events";
import { InMemoryCheckpointStore, InMemoryEventStore, runProjector, type RecordedEvent } from "@tollgate/eventstore";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createQuotaProjector } from "./quota-projector.js";
import { openSqliteDatabase } from "@tollgate/eventstore";
import { SqliteQuotaReader } from "./sqlite-quota-reader.js";
import { SqliteQuotaStore } from "./sqlite-quota-store.js";
import { completed, failed, planCreated, subscriptionStarted } from "./test-support/event-fixtures.js";

let dir: string;
let stores: SqliteQuotaStore[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tollgate-quota-store-"));
});

afterEach(async () => {
  for (const store of stores) store.close();
  stores = [];
  await rm(dir, { recursive: true, force: true });
});

function openStore(file = join(dir, "quota.db")): SqliteQuotaStore {
  const store = SqliteQuotaStore.open({ file, synchronous: "normal", name: "quota-projector", rulesFor: () => defaultBillingRules });
  stores.push(store);
  return store;
}

function recorded(events: readonly TollgateEvent[], from = 1): RecordedEvent[] {
  return events.map((event, index) => ({
    id: `e-${from + index}`,
    type: event.type,
    version: event.version,
    data: event.data,
    metadata: {},
    streamId: event.type.startsWith("Request") ? "requests-gw-1" : event.type.startsWith("Plan") ? "plan-gold" : "subscription-sub-1",
    revision: index,
    position: BigInt(from + index),
    recordedAt: new Date(),
  }));
}

const setup: TollgateEvent[] = [planCreated("gold", { limit: 500, period: "day", enforcement: "hard" }), subscriptionStarted("sub-1", "gold")];

describe("SqliteQuotaStore", () => {
  it("commits a batch's counts and its checkpoint together, and skips events at or before the checkpoint", async () => {
    const store = openStore();
    const batch = recorded([...setup, completed(), completed({}, 503)]);
    const rows = await store.applyBatch(batch, 4n);
    expect(rows).toEqual([expect.objectContaining({ subscriptionId: "sub-1", admitted: 2, billable: 1 })]);
    expect(await store.loadCheckpoint()).toBe(4n);

    // The same batch delivered again (a runner that lost its place, say) changes nothing.
    await store.applyBatch(batch, 4n);
    expect(store.usage()).toEqual([expect.objectContaining({ requests: 2, admitted: 2, billable: 1 })]);

    // A batch that overlaps the checkpoint applies only its new events.
    await store.applyBatch(recorded([completed(), completed()], 4), 5n);
    expect(store.usage()[0]).toMatchObject({ requests: 3, billable: 2 });
  });

  it("rolls back a batch that fails part-way: neither its counts nor its checkpoint are kept", async () => {
    const store = openStore();
    await store.applyBatch(recorded(setup), 2n);
    const poisoned = recorded([completed(), { ...completed(), data: { ...completed().data, status: 9_999 } } as TollgateEvent], 3);
    await expect(store.applyBatch(poisoned, 4n)).rejects.toThrow(/invalid RequestCompleted/);
    expect(await store.loadCheckpoint()).toBe(2n);
    expect(store.usage()).toEqual([]);
  });

  it("keeps what it committed across a reopen, and forgets everything on reset", async () => {
    const file = join(dir, "reopen.db");
    const first = openStore(file);
    await first.applyBatch(recorded([...setup, completed()]), 3n);
    first.close();
    const second = openStore(file);
    expect(await second.loadCheckpoint()).toBe(3n);
    expect(second.usage()).toHaveLength(1);
    second.reset();
    expect(await second.loadCheckpoint()).toBeNull();
    expect(second.usage()).toEqual([]);
  });
});

describe("SqliteQuotaStore: billing anchors and the schema version", () => {
  const anchored: TollgateEvent[] = [
    planCreated("gold", { limit: 50, period: "month", enforcement: "hard" }),
    subscriptionStarted("sub-1", "gold", "2025-01-31T10:00:00.000Z"),
  ];

  it("stores the anchor with the subscription's plan and counts in anchored periods, across a reopen", async () => {
    const file = join(dir, "anchored.db");
    const first = openStore(file);
    await first.applyBatch(recorded([...anchored, completed({ startedAt: "2025-02-28T12:00:00.000Z" })]), 3n);
    first.close();
    const second = openStore(file);
    expect(second.resetFromVersion).toBeNull();
    // A request of a later batch finds the anchor in the file, not in the batch.
    await second.applyBatch(recorded([completed({ startedAt: "2025-03-30T12:00:00.000Z" })], 4), 4n);
    expect(second.usage()).toEqual([
      expect.objectContaining({ periodStart: Date.parse("2025-02-28T10:00:00.000Z"), periodEnd: Date.parse("2025-03-31T10:00:00.000Z"), requests: 2 }),
    ]);
  });

  it("drops a version 1 file's counts and checkpoint, so the projector replays the log into the new schema", async () => {
    const file = join(dir, "v1.db");
    // A file as version 1 left it: no quota_schema table, no billing_anchor column, a checkpoint.
    const v1 = openSqliteDatabase({ file, synchronous: "normal", busyTimeoutMs: 1_000 });
    v1.exec(`
      CREATE TABLE quota_plans (plan_id TEXT PRIMARY KEY, quota_limit INTEGER, quota_period TEXT, quota_enforcement TEXT) STRICT;
      CREATE TABLE quota_subscription_plans (subscription_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL) STRICT;
      CREATE TABLE quota_usage (subscription_id TEXT NOT NULL, period TEXT NOT NULL, period_start INTEGER NOT NULL, period_end INTEGER NOT NULL,
        plan_id TEXT, quota_limit INTEGER, quota_period TEXT, quota_enforcement TEXT, requests INTEGER NOT NULL, admitted INTEGER NOT NULL,
        billable INTEGER NOT NULL, PRIMARY KEY (subscription_id, period, period_start)) STRICT;
      INSERT INTO quota_subscription_plans VALUES ('sub-1', 'gold');
      INSERT INTO quota_usage VALUES ('sub-1', 'month', 0, 1, 'gold', 50, 'month', 'hard', 9, 9, 9);
      INSERT INTO checkpoints (name, position, updated_at) VALUES ('quota-projector', '3', 0);
    `);
    v1.close();
    const store = openStore(file);
    expect(store.resetFromVersion).toBe(1);
    expect(await store.loadCheckpoint()).toBeNull();
    expect(store.usage()).toEqual([]);
    await store.applyBatch(recorded([...anchored, completed({ startedAt: "2025-02-28T12:00:00.000Z" })]), 3n);
    expect(store.usage()).toEqual([expect.objectContaining({ periodStart: Date.parse("2025-02-28T10:00:00.000Z"), requests: 1 })]);
    store.close();
    // Opened again at the current version, nothing is dropped.
    expect(openStore(file).resetFromVersion).toBeNull();
  });
});

describe("SqliteQuotaReader (read-only, as another process reads the file)", () => {
  const fallback = { subscription: { planId: "gold", billingAnchor: null }, plan: null };

  it("reads a subscription's anchored period, its counts and the checkpoint they include", async () => {
    const file = join(dir, "read.db");
    const store = openStore(file);
    await store.applyBatch(
      recorded([
        planCreated("gold", { limit: 50, period: "day", enforcement: "hard" }),
        subscriptionStarted("sub-1", "gold", "2025-01-10T08:30:00.000Z"),
        completed({ startedAt: "2025-06-15T08:30:00.000Z" }),
        completed({ startedAt: "2025-06-15T09:00:00.000Z" }, 503),
        completed({ startedAt: "2025-06-15T07:00:00.000Z" }),
      ]),
      5n,
    );
    const reader = SqliteQuotaReader.open({ file, name: "quota-projector" });
    try {
      const read = reader.usageAt("sub-1", Date.parse("2025-06-15T20:00:00.000Z"), fallback)!;
      expect(read).toMatchObject({ checkpoint: 5n, subscriptionProjected: true, subscription: { billingAnchor: Date.parse("2025-01-10T08:30:00.000Z") } });
      expect(read.usage).toMatchObject({
        period: "day",
        periodStart: Date.parse("2025-06-15T08:30:00.000Z"),
        periodEnd: Date.parse("2025-06-16T08:30:00.000Z"),
        requests: 2,
        admitted: 2,
        billable: 1,
        quota: { limit: 50 },
      });
      // A period with no requests reads as zero; a subscription the projection has not reached uses the fallback.
      expect(reader.usageAt("sub-1", Date.parse("2025-06-17T00:00:00.000Z"), fallback)!.usage).toMatchObject({ requests: 0, billable: 0 });
      expect(reader.usageAt("sub-2", Date.parse("2025-06-15T20:00:00.000Z"), fallback)).toMatchObject({
        subscriptionProjected: false,
        usage: { period: "month", periodStart: Date.parse("2025-06-01T00:00:00.000Z"), requests: 0 },
      });
    } finally {
      reader.close();
    }
  });

  it("refuses to open a file that does not exist, and reads a file of another schema version as null", () => {
    expect(() => SqliteQuotaReader.open({ file: join(dir, "missing.db"), name: "quota-projector" })).toThrow();
    const file = join(dir, "other.db");
    openSqliteDatabase({ file, synchronous: "normal", busyTimeoutMs: 1_000 }).close();
    const reader = SqliteQuotaReader.open({ file, name: "quota-projector" });
    try {
      expect(reader.usageAt("sub-1", 0, fallback)).toBeNull();
    } finally {
      reader.close();
    }
  });
});

describe("the quota projector under the subscription runner", () => {
  it("projects the log, resumes from its own checkpoint, and hands committed rows on", async () => {
    const log = new InMemoryEventStore();
    const checkpoints = new InMemoryCheckpointStore();
    await log.append("plan-gold", [{ id: "p1", ...setup[0]! }]);
    await log.append("subscription-sub-1", [{ id: "s1", ...setup[1]! }]);
    await log.append(streams.requests("gw-1"), Array.from({ length: 30 }, (_, i) => ({ id: `r${i}`, ...(i % 3 === 0 ? failed({ n: i }) : completed({ n: i })) })));
    await log.append("consumer-c1", [{ id: "c1", type: "ConsumerRegistered", version: 1, data: {} }]);

    const store = openStore();
    const committed: number[] = [];
    const projector = createQuotaProjector({ store, onCommitted: (rows) => committed.push(rows.length) });
    let runner = runProjector({ store: log, checkpoints, projector, maxBatchSize: 7, maxBatchWaitMs: 0 });
    const head = await log.headPosition();
    await expect.poll(() => store.loadCheckpoint(), { timeout: 5_000, interval: 5 }).toBe(head - 1n);
    await runner.stop();
    expect(store.usage()).toEqual([expect.objectContaining({ requests: 30, admitted: 30, billable: 20 })]);
    expect(committed.length).toBeGreaterThan(1);

    // More requests after a restart: the new runner starts from the store's checkpoint.
    await log.append(streams.requests("gw-1"), [{ id: "r-late", ...completed() }]);
    runner = runProjector({ store: log, checkpoints, projector, maxBatchSize: 7, maxBatchWaitMs: 0 });
    await expect.poll(() => store.usage()[0]?.requests, { timeout: 5_000, interval: 5 }).toBe(31);
    await runner.stop();
    await log.close();
  });
});
