import { describe, expect, it } from "vitest";
import { START } from "../event-store.js";
import { collectEvents } from "../test-support/collect-events.js";
import { describeEventStoreContract } from "../test-support/event-store-contract.js";
import { InMemoryCheckpointStore } from "./in-memory-checkpoint-store.js";
import { InMemoryEventStore } from "./in-memory-event-store.js";

describeEventStoreContract("in-memory", () => {
  const store = new InMemoryEventStore();
  return Promise.resolve({ store, checkpoints: new InMemoryCheckpointStore(), cleanup: () => store.close() });
});

const event = (id: string, data: unknown = {}) => ({ id, type: "Happened", version: 1, data });

describe("InMemoryEventStore", () => {
  it("skips ids it already holds without taking a revision, even within one batch", async () => {
    const store = new InMemoryEventStore();
    await store.append("s-1", [event("a"), event("b")]);
    const result = await store.append("s-1", [event("b"), event("c"), event("c")]);
    expect(result.nextRevision).toBe(2);
    expect((await store.readStream("s-1")).map((e) => [e.id, e.revision])).toEqual([
      ["a", 0],
      ["b", 1],
      ["c", 2],
    ]);
  });

  it("checks the expected revision when some ids are new, or when the known ids belong to another stream", async () => {
    const store = new InMemoryEventStore();
    await store.append("s-1", [event("a")]);
    await expect(store.append("s-1", [event("a"), event("b")], { expectedRevision: "no-stream" })).rejects.toThrow(
      "expected revision no-stream, actual 0",
    );
    await expect(store.append("s-2", [event("a")], { expectedRevision: "exists" })).rejects.toThrow("actual -1");
    expect(await store.readStream("s-2")).toEqual([]);
  });

  it("stores data as JSON would, and hands out copies", async () => {
    const store = new InMemoryEventStore();
    const data = { when: new Date(0), skipped: undefined, list: [1] };
    await store.append("s-1", [event("a", data)]);
    data.list.push(2);
    const [read] = await store.readStream("s-1");
    expect(read!.data).toEqual({ when: "1970-01-01T00:00:00.000Z", list: [1] });
    (read!.data as { list: number[] }).list.push(3);
    expect((await store.readStream("s-1"))[0]!.data).toEqual({ when: "1970-01-01T00:00:00.000Z", list: [1] });
  });

  it("stamps recordedAt with the injected clock", async () => {
    const store = new InMemoryEventStore({ clock: () => new Date("2026-01-02T03:04:05Z") });
    await store.append("s-1", [event("a")]);
    expect((await store.readStream("s-1"))[0]!.recordedAt.toISOString()).toBe("2026-01-02T03:04:05.000Z");
  });

  it("deletes only old events of the given streams up to the position, and never reuses a revision", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const store = new InMemoryEventStore({ clock: () => now });
    await store.append("requests-g1", [event("r1"), event("r2")]);
    await store.append("control-1", [event("c1")]);
    now = new Date("2026-03-01T00:00:00Z");
    await store.append("requests-g1", [event("r3")]);

    const deleted = await store.deleteEventsBefore({
      streamPrefixes: ["requests-"],
      olderThan: new Date("2026-02-01T00:00:00Z"),
      maxPosition: 4n,
    });
    expect(deleted).toBe(2);
    expect((await store.readAll({ from: START, limit: 10 })).map((e) => e.id)).toEqual(["c1", "r3"]);
    expect((await store.append("requests-g1", [event("r4")])).nextRevision).toBe(3);
    expect((await store.readStream("requests-g1")).map((e) => e.revision)).toEqual([2, 3]);
  });

  it("ends every subscription when the store closes", async () => {
    const store = new InMemoryEventStore();
    const subscription = store.subscribe({ from: START });
    const pending = subscription[Symbol.asyncIterator]().next();
    await store.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    await expect(collectEvents(subscription, 1, 100)).rejects.toThrow("subscription ended");
  });
});
