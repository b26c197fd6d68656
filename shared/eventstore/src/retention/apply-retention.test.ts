import { describe, expect, it } from "vitest";
import { START } from "../event-store.js";
import { InMemoryCheckpointStore } from "../memory/in-memory-checkpoint-store.js";
import { InMemoryEventStore } from "../memory/in-memory-event-store.js";
import { applyRetention } from "./apply-retention.js";
import { REQUEST_EVENT_RETENTION_MS, requestEventRetentionPolicy } from "./retention-policy.js";
import { supportsRetention } from "./supports-retention.js";

const day = 24 * 60 * 60 * 1000;
const start = new Date("2026-01-01T00:00:00Z").getTime();
const event = (id: string) => ({ id, type: "RequestCompleted", version: 1, data: {} });

async function logWithAges(): Promise<{ store: InMemoryEventStore; checkpoints: InMemoryCheckpointStore }> {
  let now = start;
  const store = new InMemoryEventStore({ clock: () => new Date(now) });
  await store.append("requests-g1", [event("day0-a"), event("day0-b")]);
  await store.append("control-plan-1", [{ ...event("day0-plan"), type: "PlanCreated" }]);
  now = start + 10 * day;
  await store.append("requests-g2", [event("day10")]);
  now = start + 80 * day;
  await store.append("requests-g1", [event("day80")]);
  return { store, checkpoints: new InMemoryCheckpointStore() };
}

const remainingIds = async (store: InMemoryEventStore): Promise<string[]> =>
  (await store.readAll({ from: START, limit: 100 })).map((e) => e.id);

describe("applyRetention", () => {
  it("keeps request events for 75 days: a billing period of 31 days plus Stripe's 35-day backdating window", () => {
    expect(REQUEST_EVENT_RETENTION_MS).toBe(75 * day);
    expect(REQUEST_EVENT_RETENTION_MS).toBeGreaterThan((31 + 35) * day);
    expect(requestEventRetentionPolicy).toEqual({ streamPrefixes: ["requests-"], maxAgeMs: 75 * day });
  });

  it("removes request events older than the maximum age that every projector has passed", async () => {
    const { store, checkpoints } = await logWithAges();
    await checkpoints.store("analytics", 5n);
    await checkpoints.store("billing", 5n);
    const result = await applyRetention(store, checkpoints, requestEventRetentionPolicy, new Date(start + 80 * day));
    expect(result).toEqual({
      deleted: 2,
      olderThan: new Date(start + 5 * day),
      safePosition: 5n,
      slowestProjector: "analytics",
    });
    expect(await remainingIds(store)).toEqual(["day0-plan", "day10", "day80"]);
  });

  it("is held back by the slowest projector", async () => {
    const { store, checkpoints } = await logWithAges();
    await checkpoints.store("analytics", 5n);
    await checkpoints.store("billing", 1n);
    const result = await applyRetention(store, checkpoints, requestEventRetentionPolicy, new Date(start + 100 * day));
    expect(result).toMatchObject({ deleted: 1, safePosition: 1n, slowestProjector: "billing" });
    expect(await remainingIds(store)).toEqual(["day0-b", "day0-plan", "day10", "day80"]);
  });

  it("keeps events younger than the maximum age even when every projector has passed them", async () => {
    const { store, checkpoints } = await logWithAges();
    await checkpoints.store("billing", 5n);
    const result = await applyRetention(store, checkpoints, requestEventRetentionPolicy, new Date(start + 70 * day));
    expect(result.deleted).toBe(0);
    expect(await remainingIds(store)).toHaveLength(5);
  });

  it("removes nothing when no projector is registered, or a projector is still at the start", async () => {
    const { store, checkpoints } = await logWithAges();
    const now = new Date(start + 200 * day);
    expect(await applyRetention(store, checkpoints, requestEventRetentionPolicy, now)).toMatchObject({
      deleted: 0,
      safePosition: null,
      slowestProjector: null,
    });
    await checkpoints.store("billing", 5n);
    await checkpoints.store("new-projector", START);
    expect((await applyRetention(store, checkpoints, requestEventRetentionPolicy, now)).deleted).toBe(0);
    expect(await remainingIds(store)).toHaveLength(5);
  });

  it("rejects a negative or non-finite maximum age", async () => {
    const { store, checkpoints } = await logWithAges();
    await expect(applyRetention(store, checkpoints, { streamPrefixes: ["requests-"], maxAgeMs: -1 }, new Date())).rejects.toThrow(
      RangeError,
    );
    await expect(
      applyRetention(store, checkpoints, { streamPrefixes: ["requests-"], maxAgeMs: Number.NaN }, new Date()),
    ).rejects.toThrow(RangeError);
  });

  it("recognises the stores that support retention", () => {
    expect(supportsRetention(new InMemoryEventStore())).toBe(true);
    expect(supportsRetention({ append: () => undefined })).toBe(false);
  });
});
