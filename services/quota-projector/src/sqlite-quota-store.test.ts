import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { streams, type TollgateEvent } from "@tollgate/events";
import { InMemoryCheckpointStore, InMemoryEventStore, runProjector, type RecordedEvent } from "@tollgate/eventstore";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultBillingRules } from "./billing-rules.js";
import { createQuotaProjector } from "./quota-projector.js";
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
