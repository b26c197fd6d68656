import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { ANY, type JSONType, NO_STREAM, START as ESDB_START, STREAM_EXISTS, UnavailableError, WrongExpectedVersionError } from "@eventstore/db-client";
import { afterEach, describe, expect, it } from "vitest";
import { type EventToAppend, START, StoreUnavailableError, WrongExpectedRevisionError } from "../event-store.js";
import { openEventStore } from "../open-event-store.js";
import type { Projector } from "../runner/projector.js";
import { runProjector } from "../runner/subscription-runner.js";
import { collectEvents } from "../test-support/collect-events.js";
import { describeEventStoreContract } from "../test-support/event-store-contract.js";
import { EventStoreDbCheckpointStore } from "./esdb-checkpoint-store.js";
import { toEsdbConnectionString } from "./esdb-connection-string.js";
import { fromEsdbEvent, originalIdKey, schemaVersionKey, toEsdbEventData, toEsdbEventId } from "./esdb-event-mapping.js";
import { EventStoreDbEventStore } from "./esdb-event-store.js";
import { isHiddenEvent, planEsdbFilter, toEsdbFilter } from "./esdb-filter-plan.js";
import { fromEsdbPosition, toEsdbReadPosition } from "./esdb-position.js";
import { fromEsdbCurrentRevision, toEsdbExpectedRevision } from "./esdb-revision.js";
import { type EsdbStandInOptions, EsdbStandInServer } from "./test-support/esdb-stand-in-server.js";
import { toPortError } from "./to-port-error.js";

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING;

// Always: the adapter and the real client against a stand-in that speaks the gRPC
// protocol. It proves the two agree; only the live run below proves the server agrees.
describeEventStoreContract("EventStoreDB adapter over the gRPC protocol stand-in", async () => {
  const server = await EsdbStandInServer.start();
  const store = EventStoreDbEventStore.connect(server.connectionString);
  return {
    store,
    checkpoints: new EventStoreDbCheckpointStore(store.client),
    cleanup: async () => {
      await store.close();
      await server.stop();
    },
  };
});

if (connectionString) {
  describeEventStoreContract("EventStoreDB", () => {
    const store = EventStoreDbEventStore.connect(connectionString);
    return Promise.resolve({
      store,
      checkpoints: new EventStoreDbCheckpointStore(store.client),
      cleanup: () => store.close(),
    });
  });
} else {
  // Said plainly, so that a green run without a server is not mistaken for a tested adapter.
  console.warn(
    "EventStoreDB contract suite SKIPPED: EVENTSTORE_CONNECTION_STRING is not set " +
      "(e.g. EVENTSTORE_CONNECTION_STRING='esdb://localhost:2113?tls=false' with `docker compose up eventstore`)",
  );
  describe.skip("EventStore contract: EventStoreDB (SKIPPED: EVENTSTORE_CONNECTION_STRING is not set)", () => {
    it("runs the shared contract suite against a live server", () => undefined);
  });
}

describe("EventStoreDB mapping", () => {
  it("maps every expected revision onto the client's", () => {
    expect(toEsdbExpectedRevision("any")).toBe(ANY);
    expect(toEsdbExpectedRevision("no-stream")).toBe(NO_STREAM);
    expect(toEsdbExpectedRevision("exists")).toBe(STREAM_EXISTS);
    expect(toEsdbExpectedRevision(0)).toBe(0n);
    expect(toEsdbExpectedRevision(41)).toBe(41n);
    expect(() => toEsdbExpectedRevision(-1)).toThrow(RangeError);
    expect(() => toEsdbExpectedRevision(1.5)).toThrow(RangeError);
  });

  it("reads a missing stream's revision as -1", () => {
    expect(fromEsdbCurrentRevision(NO_STREAM)).toBe(-1);
    expect(fromEsdbCurrentRevision(7n)).toBe(7);
  });

  it("maps positions: START is the server's start, any other position is commit = prepare", () => {
    expect(toEsdbReadPosition(START)).toBe(ESDB_START);
    expect(toEsdbReadPosition(1234n)).toEqual({ commit: 1234n, prepare: 1234n });
    expect(() => toEsdbReadPosition(-1n)).toThrow(RangeError);
    expect(fromEsdbPosition({ commit: 99n, prepare: 99n })).toBe(99n);
  });

  it("accepts esdb:// strings and rewrites kurrentdb:// ones", () => {
    expect(toEsdbConnectionString("esdb://eventstore:2113?tls=false")).toBe("esdb://eventstore:2113?tls=false");
    expect(toEsdbConnectionString("kurrentdb://a:2113?tls=false")).toBe("esdb://a:2113?tls=false");
    expect(toEsdbConnectionString("kurrentdb+discover://u:p@a:2113,b:2113")).toBe("esdb+discover://u:p@a:2113,b:2113");
    expect(() => toEsdbConnectionString("http://secret@host")).toThrow(/esdb:\/\//);
    expect(() => toEsdbConnectionString("http://secret@host")).not.toThrow(/secret/);
  });
});

describe("EventStoreDB filter plan", () => {
  it("without a filter, the server drops system and adapter streams", () => {
    const plan = planEsdbFilter(undefined);
    expect(plan.server).toEqual({ on: "not-hidden" });
    expect(plan.canMatch).toBe(true);
    const filter = toEsdbFilter(plan, 1);
    expect(filter.filterOn).toBe("streamName");
    // The pattern is also valid .NET; with no .NET-only syntax it matches the same there.
    const pattern = new RegExp((filter as { regex: string }).regex);
    expect(pattern.test("requests-gw-1")).toBe(true);
    expect(pattern.test("$ce-requests")).toBe(false);
    expect(pattern.test("$$requests-gw-1")).toBe(false);
    expect(pattern.test("tollgate.checkpoint-billing")).toBe(false);
    expect(pattern.test("tollgateish-1")).toBe(true);
  });

  it("sends event types to the server when they are the only criterion, and checks them exactly here", () => {
    const plan = planEsdbFilter({ eventTypes: ["RequestCompleted", "RequestFailed"] });
    expect(plan.server).toEqual({ on: "eventType", prefixes: ["RequestCompleted", "RequestFailed"] });
    expect(toEsdbFilter(plan, 1)).toMatchObject({ filterOn: "eventType", prefixes: ["RequestCompleted", "RequestFailed"] });
    expect(plan.accepts("requests-gw-1", "RequestCompleted")).toBe(true);
    // The server's prefix match lets this through; the exact check stops it.
    expect(plan.accepts("requests-gw-1", "RequestCompletedV2")).toBe(false);
  });

  it("with both criteria, stream prefixes go to the server and event types are checked here", () => {
    const plan = planEsdbFilter({ eventTypes: ["RequestCompleted"], streamPrefixes: ["requests-"] });
    expect(plan.server).toEqual({ on: "streamName", prefixes: ["requests-"] });
    expect(toEsdbFilter(plan, 1)).toMatchObject({ filterOn: "streamName", prefixes: ["requests-"] });
    expect(plan.accepts("requests-gw-1", "RequestCompleted")).toBe(true);
    expect(plan.accepts("requests-gw-1", "RequestRejected")).toBe(false);
    expect(plan.accepts("plans-1", "RequestCompleted")).toBe(false);
  });

  it("an empty list matches nothing", () => {
    expect(planEsdbFilter({ eventTypes: [] }).canMatch).toBe(false);
    expect(planEsdbFilter({ streamPrefixes: [], eventTypes: ["A"] }).canMatch).toBe(false);
    expect(planEsdbFilter({ streamPrefixes: ["a-"] }).canMatch).toBe(true);
  });

  it("hides system events and the adapter's own streams whatever the filter", () => {
    expect(isHiddenEvent("requests-gw-1", "$metadata")).toBe(true);
    expect(isHiddenEvent("$streams", "$>")).toBe(true);
    expect(isHiddenEvent("tollgate.checkpoint-billing", "CheckpointStored")).toBe(true);
    expect(isHiddenEvent("requests-gw-1", "RequestCompleted")).toBe(false);
    expect(planEsdbFilter({ streamPrefixes: ["tollgate."] }).accepts("tollgate.projectors", "ProjectorRegistered")).toBe(false);
    expect(planEsdbFilter({ eventTypes: ["$metadata"] }).accepts("requests-gw-1", "$metadata")).toBe(false);
  });
});

describe("EventStoreDB event mapping", () => {
  it("keeps a lowercase UUID id as the server id, so the server deduplicates retries", () => {
    const id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    expect(toEsdbEventId(id)).toBe(id);
    expect(toEsdbEventData({ id, type: "T", version: 1, data: {} }).metadata).toEqual({ [schemaVersionKey]: 1 });
  });

  it("derives a stable version-5 UUID from any other id and carries the original in the metadata", () => {
    const derived = toEsdbEventId("request-123");
    expect(derived).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(toEsdbEventId("request-123")).toBe(derived);
    expect(toEsdbEventId("request-124")).not.toBe(derived);
    expect(toEsdbEventId("0F8FAD5B-D9CB-469F-A165-70867728950E")).not.toBe("0F8FAD5B-D9CB-469F-A165-70867728950E");
    expect(toEsdbEventData({ id: "request-123", type: "T", version: 2, data: { a: 1 } })).toEqual({
      id: derived,
      contentType: "application/json",
      type: "T",
      data: { a: 1 },
      metadata: { [schemaVersionKey]: 2, [originalIdKey]: "request-123" },
    });
  });

  it("round-trips id, schema version, data and metadata through the stored form", () => {
    const written = toEsdbEventData({ id: "e-1", type: "Happened", version: 3, data: null, metadata: { correlationId: "c" } });
    const created = new Date("2026-11-26T10:00:00.000Z");
    const stored = {
      streamId: "things-1",
      id: written.id,
      isJson: true as const,
      revision: 4n,
      type: written.type,
      created,
      data: written.data as JSONType,
      metadata: written.metadata as Record<string, unknown>,
    };
    expect(fromEsdbEvent(stored, 77n)).toEqual({
      id: "e-1",
      type: "Happened",
      version: 3,
      data: null,
      metadata: { correlationId: "c" },
      streamId: "things-1",
      revision: 4,
      position: 77n,
      recordedAt: created,
    });
  });

  it("reads events written by other tools as version 1 with their own id", () => {
    const foreign = {
      streamId: "things-1",
      id: "0f8fad5b-d9cb-469f-a165-70867728950e",
      isJson: false as const,
      revision: 0n,
      type: "Imported",
      created: new Date(0),
      data: new Uint8Array([1, 2]),
      metadata: new Uint8Array([3]),
    };
    expect(fromEsdbEvent(foreign, 5n)).toMatchObject({ id: foreign.id, version: 1, metadata: {}, revision: 0, position: 5n });
  });
});

describe("EventStoreDB error mapping", () => {
  it("turns a wrong expected version into the port's error, with -1 for a missing stream", () => {
    const missing = new WrongExpectedVersionError(undefined, { streamName: "s-1", expected: STREAM_EXISTS, current: NO_STREAM });
    const mapped = toPortError(missing, { operation: "append", streamId: "s-1", expected: "exists" });
    expect(mapped).toBeInstanceOf(WrongExpectedRevisionError);
    expect(mapped).toMatchObject({ streamId: "s-1", expected: "exists", actual: -1 });

    const behind = new WrongExpectedVersionError(undefined, { streamName: "s-1", expected: 0n, current: 3n });
    expect(toPortError(behind, { operation: "append", streamId: "s-1", expected: 0 })).toMatchObject({ expected: 0, actual: 3 });
  });

  it("turns unavailability into StoreUnavailableError and leaves other errors alone", () => {
    expect(toPortError(new UnavailableError(), { operation: "readAll" })).toBeInstanceOf(StoreUnavailableError);
    const grpc = Object.assign(new Error("14 UNAVAILABLE: No connection established"), { code: 14 });
    const mapped = toPortError(grpc, { operation: "append", streamId: "s-1" });
    expect(mapped).toBeInstanceOf(StoreUnavailableError);
    expect(mapped.cause).toBe(grpc);
    const bug = new TypeError("bad");
    expect(toPortError(bug, { operation: "append" })).toBe(bug);
  });
});

describe("EventStoreDbEventStore without a server", () => {
  /** A port nothing listens on: bound, then released. */
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  it("reports every operation as StoreUnavailableError when the server cannot be reached", async () => {
    const store = EventStoreDbEventStore.connect(`esdb://127.0.0.1:${await closedPort()}?tls=false`);
    const checkpoints = new EventStoreDbCheckpointStore(store.client);
    try {
      const event = { id: "0f8fad5b-d9cb-469f-a165-70867728950e", type: "T", version: 1, data: {} };
      await expect(store.append("things-1", [event])).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.readStream("things-1")).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.readAll({ from: START, limit: 10 })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.readAll({ from: START, limit: 10, filter: { eventTypes: ["T"] } })).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
      await expect(store.headPosition()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(checkpoints.load("billing")).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(checkpoints.store("billing", 1n)).rejects.toBeInstanceOf(StoreUnavailableError);

      const subscription = store.subscribe({ from: START });
      await expect(subscription[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.close();
    }
  });
});

describe("EventStoreDbEventStore over the gRPC protocol stand-in", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function connect(options?: EsdbStandInOptions): Promise<{ server: EsdbStandInServer; store: EventStoreDbEventStore }> {
    const server = await EsdbStandInServer.start(options);
    cleanups.push(() => server.stop());
    const store = EventStoreDbEventStore.connect(server.connectionString);
    cleanups.push(() => store.close());
    return { server, store };
  }
  const event = (type = "Happened", id: string = randomUUID(), data: unknown = {}): EventToAppend => ({ id, type, version: 1, data });

  it("keeps checkpoints out of the log it returns: reads, subscriptions and the head ignore them", async () => {
    const { store } = await connect();
    const checkpoints = new EventStoreDbCheckpointStore(store.client);
    const appended = await store.append("things-1", [event(), event()]);
    await checkpoints.store("billing", appended.position);
    await checkpoints.store("billing", appended.position);

    expect(await store.headPosition()).toBe(appended.position);
    const all = await store.readAll({ from: START, limit: 100 });
    expect(all.map((recorded) => recorded.streamId)).toEqual(["things-1", "things-1"]);
    expect((await store.readLatest(10)).map((recorded) => recorded.streamId)).toEqual(["things-1", "things-1"]);
    const subscription = store.subscribe({ from: START });
    expect((await collectEvents(subscription, 2)).map((recorded) => recorded.position)).toEqual(all.map((r) => r.position));
    await subscription.close();
    // $maxCount 1: the checkpoint stream holds only the latest.
    expect(await store.readStream("tollgate.checkpoint-billing")).toHaveLength(1);
    expect([...(await checkpoints.list())]).toEqual([["billing", appended.position]]);
  });

  it("round-trips ids that are not UUIDs, and a retry of them is still recognised", async () => {
    const { store } = await connect();
    const batch = [event("Happened", "request-1"), event("Happened", "request-2")];
    const first = await store.append("things-1", batch, { expectedRevision: "no-stream" });
    const retried = await store.append("things-1", batch, { expectedRevision: "no-stream" });
    expect(retried).toEqual(first);
    expect((await store.readStream("things-1")).map((recorded) => [recorded.id, recorded.metadata])).toEqual([
      ["request-1", {}],
      ["request-2", {}],
    ]);
  });

  it("ends a filtered read at the log's end on a server that never says it has caught up", async () => {
    const { store } = await connect({ sendsCaughtUp: false });
    await store.append("wanted-1", [event("A"), event("A")]);
    await store.append("other-1", Array.from({ length: 40 }, () => event("B")));
    const started = Date.now();
    const page = await store.readAll({ from: START, limit: 100, filter: { streamPrefixes: ["wanted-"] } });
    expect(page).toHaveLength(2);
    // The server went quiet before the end; the last stretch was read unfiltered, promptly.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("truncates request streams before the safe position and the age limit, keeping their other metadata", async () => {
    let now = Date.parse("2026-01-01T00:00:00.000Z");
    const { store } = await connect({ clock: () => new Date(now) });
    const checkpoints = new EventStoreDbCheckpointStore(store.client);
    await store.append("requests-gw-1", [event(), event(), event()]);
    await store.client.setStreamMetadata("requests-gw-2", { maxCount: 1000 });
    await store.append("requests-gw-2", [event(), event()]);
    await store.append("plans-1", [event()]);
    now += 10 * 60_000;
    const young = await store.append("requests-gw-1", [event()]);
    await checkpoints.store("billing", young.position);

    const olderThan = new Date(now - 60_000);
    const removed = await store.deleteEventsBefore({ streamPrefixes: ["requests-"], olderThan, maxPosition: young.position });
    expect(removed).toBe(5);
    expect((await store.readStream("requests-gw-1")).map((recorded) => recorded.revision)).toEqual([3]);
    expect(await store.readStream("requests-gw-2")).toEqual([]);
    expect(await store.readStream("plans-1")).toHaveLength(1);
    expect((await store.client.getStreamMetadata("requests-gw-2")).metadata).toMatchObject({ maxCount: 1000, truncateBefore: 2 });
    // The stream goes on where it was: truncation never rewinds revisions.
    expect((await store.append("requests-gw-2", [event()])).nextRevision).toBe(2);
    // A second run has nothing left to do.
    expect(await store.deleteEventsBefore({ streamPrefixes: ["requests-"], olderThan, maxPosition: young.position })).toBe(0);
  });

  it("never truncates past the safe position", async () => {
    const { store } = await connect({ clock: () => new Date(0) });
    const first = await store.append("requests-gw-1", [event(), event()]);
    await store.append("requests-gw-1", [event(), event()]);
    const removed = await store.deleteEventsBefore({
      streamPrefixes: ["requests-"],
      olderThan: new Date(Date.now()),
      maxPosition: first.position,
    });
    expect(removed).toBe(2);
    expect((await store.readStream("requests-gw-1")).map((recorded) => recorded.revision)).toEqual([2, 3]);
  });

  it("runs a projector with the subscription runner, its checkpoint in EventStoreDB", async () => {
    const { store } = await connect();
    const checkpoints = new EventStoreDbCheckpointStore(store.client);
    await store.append("requests-gw-1", [event("RequestCompleted"), event("RequestRejected"), event("RequestCompleted")]);
    const batches: string[][] = [];
    const projector: Projector = {
      name: "usage",
      filter: { streamPrefixes: ["requests-"], eventTypes: ["RequestCompleted"] },
      handle: (batch) => {
        batches.push(batch.map((recorded) => recorded.type));
        return Promise.resolve();
      },
    };
    const runner = runProjector({ store, checkpoints, projector, maxBatchWaitMs: 20 });
    cleanups.push(() => runner.stop());
    const last = await store.append("requests-gw-1", [event("RequestCompleted")]);

    await waitUntil(async () => (await checkpoints.load("usage")) === last.position);
    expect(batches.flat()).toEqual(["RequestCompleted", "RequestCompleted", "RequestCompleted"]);
    // Its own checkpoint writes are hidden, so they do not wake it up again.
    const handled = runner.status().batchesHandled;
    await store.append("plans-1", [event()]);
    await waitUntil(async () => (await store.headPosition()) > last.position);
    expect(runner.status().batchesHandled).toBe(handled);
  });

  it("is what openEventStore returns for an eventstoredb config", async () => {
    const server = await EsdbStandInServer.start();
    cleanups.push(() => server.stop());
    const { store, checkpoints } = await openEventStore({ kind: "eventstoredb", connectionString: server.connectionString });
    cleanups.push(() => store.close());
    const appended = await store.append("things-1", [event()]);
    await checkpoints.store("p", appended.position);
    expect(await checkpoints.load("p")).toBe(appended.position);
    expect(typeof store.deleteEventsBefore).toBe("function");
  });
});

/** Polls until `condition` holds; fails after `timeoutMs`. */
async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
