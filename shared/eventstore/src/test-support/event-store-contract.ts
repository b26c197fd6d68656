import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type CheckpointStore,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type RecordedEvent,
  START,
  type Subscription,
  WrongExpectedRevisionError,
} from "../event-store.js";
import { collectEvents } from "./collect-events.js";

export interface EventStoreContractSubject {
  store: EventStore;
  checkpoints: CheckpointStore;
  /** Closes the store and releases whatever the factory created (temp files, connections). */
  cleanup(): Promise<void>;
}

/**
 * The behaviour every EventStore and CheckpointStore adapter must share. Each test works
 * in streams, event types and checkpoint names of its own (a random suffix), so the
 * suite can run against a shared server that already holds other data: it never assumes
 * an empty log, and reads the global log only through a filter on its own streams.
 */
export function describeEventStoreContract(name: string, factory: () => Promise<EventStoreContractSubject>): void {
  describe(`EventStore contract: ${name}`, () => {
    let subject: EventStoreContractSubject;
    let store: EventStore;
    let checkpoints: CheckpointStore;
    let subscriptions: Subscription[];
    /** This test's stream category: every stream it writes starts with `${category}-`. */
    let category: string;
    let suffix: string;

    beforeEach(async () => {
      subject = await factory();
      ({ store, checkpoints } = subject);
      subscriptions = [];
      suffix = randomUUID().replaceAll("-", "").slice(0, 12);
      category = `contract${suffix}`;
    });

    afterEach(async () => {
      await Promise.all(subscriptions.map((subscription) => subscription.close()));
      await subject.cleanup();
    });

    const stream = (label: string): string => `${category}-${label}`;
    const ownStreams = (): { streamPrefixes: string[] } => ({ streamPrefixes: [`${category}-`] });
    const typeName = (label: string): string => `${label}${suffix}`;
    const event = (label = "Happened", data: unknown = { n: 1 }, metadata?: Record<string, unknown>): EventToAppend => ({
      id: randomUUID(),
      type: typeName(label),
      version: 1,
      data,
      ...(metadata ? { metadata } : {}),
    });
    const events = (count: number, label = "Happened"): EventToAppend[] =>
      Array.from({ length: count }, (_, n) => event(label, { n }));
    const subscribe = (...args: Parameters<EventStore["subscribe"]>): Subscription => {
      const subscription = store.subscribe(...args);
      subscriptions.push(subscription);
      return subscription;
    };
    const rejectionOf = async (promise: Promise<unknown>): Promise<WrongExpectedRevisionError> => {
      const error = await promise.then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      return error as WrongExpectedRevisionError;
    };
    const expectIncreasing = (recorded: readonly RecordedEvent[]): void => {
      for (let i = 1; i < recorded.length; i++) expect(recorded[i]!.position > recorded[i - 1]!.position).toBe(true);
    };

    describe("append and readStream", () => {
      it("appends to a new stream and reads the events back as written, in revision order", async () => {
        const s = stream("a");
        const written = [
          event("Opened", { name: "x", nested: { list: [1, "two", null, true], value: 3.5 } }, { correlationId: "c-1" }),
          event("Changed", { name: "y" }),
          event("Closed", null),
        ];
        const result = await store.append(s, written);
        expect(result.nextRevision).toBe(2);

        const read = await store.readStream(s);
        expect(read.map((e) => [e.id, e.type, e.version, e.data, e.metadata, e.streamId, e.revision])).toEqual([
          [written[0]!.id, typeName("Opened"), 1, written[0]!.data, { correlationId: "c-1" }, s, 0],
          [written[1]!.id, typeName("Changed"), 1, { name: "y" }, {}, s, 1],
          [written[2]!.id, typeName("Closed"), 1, null, {}, s, 2],
        ]);
        expectIncreasing(read);
        expect(read[0]!.position > START).toBe(true);
        expect(read[2]!.position).toBe(result.position);
        for (const e of read) expect(Number.isFinite(e.recordedAt.getTime())).toBe(true);
      });

      it("continues a stream's revisions and positions on the next append", async () => {
        const s = stream("a");
        const first = await store.append(s, events(2));
        const second = await store.append(s, events(3));
        expect(second.nextRevision).toBe(4);
        expect(second.position > first.position).toBe(true);
        expect((await store.readStream(s)).map((e) => e.revision)).toEqual([0, 1, 2, 3, 4]);
      });

      it("reads from a revision (inclusive) and up to a limit", async () => {
        const s = stream("a");
        await store.append(s, events(5));
        expect((await store.readStream(s, { fromRevision: 2 })).map((e) => e.revision)).toEqual([2, 3, 4]);
        expect((await store.readStream(s, { limit: 2 })).map((e) => e.revision)).toEqual([0, 1]);
        expect((await store.readStream(s, { fromRevision: 1, limit: 2 })).map((e) => e.revision)).toEqual([1, 2]);
        expect(await store.readStream(s, { fromRevision: 5 })).toEqual([]);
      });

      it("stores pre-serialized data as the same value that `data` would have stored", async () => {
        const s = stream("serialized");
        const value = { status: 200, path: "/a", nested: { list: [1, null] } };
        const written: EventToAppend = { id: randomUUID(), type: typeName("Serialized"), version: 1, data: undefined, serializedData: JSON.stringify(value) };
        await store.append(s, [written]);
        const [read] = await store.readStream(s);
        expect(read?.data).toEqual(value);
      });

      it("reads a stream that does not exist as empty", async () => {
        expect(await store.readStream(stream("nothing-here"))).toEqual([]);
      });
    });

    describe("expected revision", () => {
      it("any: appends whatever the stream's state", async () => {
        const s = stream("a");
        expect((await store.append(s, events(1), { expectedRevision: "any" })).nextRevision).toBe(0);
        expect((await store.append(s, events(1), { expectedRevision: "any" })).nextRevision).toBe(1);
        expect((await store.append(s, events(1))).nextRevision).toBe(2);
      });

      it("no-stream: succeeds on a new stream, fails on an existing one with its actual revision", async () => {
        const s = stream("a");
        expect((await store.append(s, events(2), { expectedRevision: "no-stream" })).nextRevision).toBe(1);
        const error = await rejectionOf(store.append(s, events(1), { expectedRevision: "no-stream" }));
        expect([error.streamId, error.expected, error.actual]).toEqual([s, "no-stream", 1]);
      });

      it("exists: fails on a new stream with actual -1, succeeds on an existing one", async () => {
        const s = stream("a");
        const error = await rejectionOf(store.append(s, events(1), { expectedRevision: "exists" }));
        expect([error.streamId, error.expected, error.actual]).toEqual([s, "exists", -1]);
        await store.append(s, events(1));
        expect((await store.append(s, events(1), { expectedRevision: "exists" })).nextRevision).toBe(1);
      });

      it("a number: must equal the revision of the stream's last event", async () => {
        const s = stream("a");
        const missing = await rejectionOf(store.append(s, events(1), { expectedRevision: 0 }));
        expect(missing.actual).toBe(-1);
        await store.append(s, events(2));
        const behind = await rejectionOf(store.append(s, events(1), { expectedRevision: 0 }));
        expect([behind.expected, behind.actual]).toEqual([0, 1]);
        const ahead = await rejectionOf(store.append(s, events(1), { expectedRevision: 5 }));
        expect([ahead.expected, ahead.actual]).toEqual([5, 1]);
        expect((await store.append(s, events(1), { expectedRevision: 1 })).nextRevision).toBe(2);
      });

      it("a rejected append writes nothing", async () => {
        const s = stream("a");
        await store.append(s, events(2));
        const expectations: ExpectedRevision[] = ["no-stream", 0, 7];
        for (const expectedRevision of expectations) {
          await rejectionOf(store.append(s, events(3), { expectedRevision }));
        }
        await rejectionOf(store.append(stream("b"), events(1), { expectedRevision: "exists" }));
        expect(await store.readStream(s)).toHaveLength(2);
        expect(await store.readStream(stream("b"))).toEqual([]);
        expect(await store.readAll({ from: START, limit: 100, filter: ownStreams() })).toHaveLength(2);
      });

      it("of two concurrent appends expecting the same revision, exactly one wins", async () => {
        const s = stream("a");
        await store.append(s, events(1));
        const contenders = [event("First"), event("Second")];
        const outcomes = await Promise.allSettled(contenders.map((e) => store.append(s, [e], { expectedRevision: 0 })));

        const won = outcomes.filter((outcome) => outcome.status === "fulfilled");
        const lost = outcomes.filter((outcome) => outcome.status === "rejected");
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect((lost[0]!.reason as WrongExpectedRevisionError).actual).toBe(1);
        const read = await store.readStream(s);
        expect(read).toHaveLength(2);
        expect(contenders.map((e) => e.id)).toContain(read[1]!.id);
      });
    });

    describe("idempotency by event id", () => {
      it("a retry of a successful append succeeds again and writes nothing", async () => {
        const s = stream("a");
        const batch = events(2);
        const first = await store.append(s, batch, { expectedRevision: "no-stream" });
        const retried = await store.append(s, batch, { expectedRevision: "no-stream" });
        expect(retried.nextRevision).toBe(first.nextRevision);
        const retriedAny = await store.append(s, batch);
        expect(retriedAny.nextRevision).toBe(1);

        const next = [event()];
        expect((await store.append(s, next, { expectedRevision: 1 })).nextRevision).toBe(2);
        expect((await store.append(s, next, { expectedRevision: 1 })).nextRevision).toBe(2);
        const read = await store.readStream(s);
        expect(read.map((e) => e.id)).toEqual([...batch, ...next].map((e) => e.id));
      });
    });

    describe("readAll", () => {
      it("returns the log in position order across streams", async () => {
        const order: [string, EventToAppend][] = [
          [stream("x"), event()],
          [stream("y"), event()],
          [stream("x"), event()],
          [stream("z"), event()],
          [stream("y"), event()],
        ];
        for (const [s, e] of order) await store.append(s, [e]);
        const all = await store.readAll({ from: START, limit: 100, filter: ownStreams() });
        expect(all.map((e) => [e.streamId, e.id])).toEqual(order.map(([s, e]) => [s, e.id]));
        expectIncreasing(all);
        const xs = await store.readStream(stream("x"));
        expect(xs.map((e) => e.position)).toEqual(all.filter((e) => e.streamId === stream("x")).map((e) => e.position));
      });

      it("filters by event type, by stream prefix, and by both", async () => {
        await store.append(stream("x-1"), [event("A"), event("B")]);
        await store.append(stream("x-2"), [event("A")]);
        await store.append(stream("y-1"), [event("A"), event("B")]);
        const read = async (eventTypes?: string[], streamPrefixes?: string[]): Promise<string[]> => {
          const filter = { ...(eventTypes ? { eventTypes } : {}), ...(streamPrefixes ? { streamPrefixes } : {}) };
          const page = await store.readAll({ from: START, limit: 100, filter });
          return page.map((e) => `${e.streamId.slice(category.length + 1)}:${e.type.slice(0, -suffix.length)}`);
        };
        const [A, B] = [typeName("A"), typeName("B")];

        expect(await read([A])).toEqual(["x-1:A", "x-2:A", "y-1:A"]);
        expect(await read([A, B])).toEqual(["x-1:A", "x-1:B", "x-2:A", "y-1:A", "y-1:B"]);
        expect(await read(undefined, [stream("x-")])).toEqual(["x-1:A", "x-1:B", "x-2:A"]);
        expect(await read(undefined, [stream("x-2"), stream("y-")])).toEqual(["x-2:A", "y-1:A", "y-1:B"]);
        expect(await read([B], [stream("x-")])).toEqual(["x-1:B"]);
        expect(await read([A, B], [stream("y-")])).toEqual(["y-1:A", "y-1:B"]);
        expect(await read([A], [])).toEqual([]);
        expect(await read([], [stream("x-")])).toEqual([]);
      });

      it("pages with an exclusive `from` and a limit", async () => {
        await store.append(stream("a"), events(3));
        await store.append(stream("b"), events(2));
        const everything = await store.readAll({ from: START, limit: 100, filter: ownStreams() });
        expect(everything).toHaveLength(5);

        const paged: RecordedEvent[] = [];
        let from = START;
        const pageSizes: number[] = [];
        for (;;) {
          const page = await store.readAll({ from, limit: 2, filter: ownStreams() });
          if (page.length === 0) break;
          pageSizes.push(page.length);
          paged.push(...page);
          from = page.at(-1)!.position;
        }
        expect(pageSizes).toEqual([2, 2, 1]);
        expect(paged.map((e) => e.id)).toEqual(everything.map((e) => e.id));

        const after = await store.readAll({ from: everything[2]!.position, limit: 100, filter: ownStreams() });
        expect(after.map((e) => e.id)).toEqual(everything.slice(3).map((e) => e.id));
      });

      it("readLatest returns the newest matching events, oldest first, and headPosition is at or past them", async () => {
        const appended = events(4);
        const result = await store.append(stream("a"), appended);
        await store.append(stream("b"), [event("Other")]);
        const latest = await store.readLatest(2, { streamPrefixes: [stream("a")] });
        expect(latest.map((e) => e.id)).toEqual(appended.slice(2).map((e) => e.id));
        expect((await store.headPosition()) >= result.position).toBe(true);
      });
    });

    describe("subscribe", () => {
      it("catches up on existing events, then delivers new ones live, in position order", async () => {
        await store.append(stream("a"), events(2));
        await store.append(stream("b"), events(1));
        const subscription = subscribe({ from: START, filter: ownStreams() });
        const caughtUp = await collectEvents(subscription, 3);

        await store.append(stream("b"), events(1));
        await store.append(stream("a"), events(1));
        const live = await collectEvents(subscription, 2);

        const all = [...caughtUp, ...live];
        const log = await store.readAll({ from: START, limit: 100, filter: ownStreams() });
        expect(all.map((e) => e.id)).toEqual(log.map((e) => e.id));
        expectIncreasing(all);
      });

      it("resumes after a stored checkpoint, excluding the checkpointed event", async () => {
        const appended = events(4);
        await store.append(stream("a"), appended);
        const read = await store.readStream(stream("a"));
        const projector = `projector-${suffix}`;
        await checkpoints.store(projector, read[1]!.position);

        const from = await checkpoints.load(projector);
        expect(from).toBe(read[1]!.position);
        const resumed = await collectEvents(subscribe({ from: from!, filter: ownStreams() }), 2);
        expect(resumed.map((e) => e.id)).toEqual(appended.slice(2).map((e) => e.id));
      });

      it("delivers only the events that match its filter", async () => {
        const [A, B] = [event("A"), event("A")];
        const subscription = subscribe({ from: START, filter: { eventTypes: [typeName("A")], streamPrefixes: [stream("x")] } });
        await store.append(stream("x"), [event("B"), A, event("B")]);
        await store.append(stream("y"), [event("A")]);
        await store.append(stream("x"), [event("B"), B]);
        const delivered = await collectEvents(subscription, 2);
        expect(delivered.map((e) => e.id)).toEqual([A.id, B.id]);

        const C = event("A");
        await store.append(stream("y"), [event("A")]);
        await store.append(stream("x"), [event("B"), C]);
        expect((await collectEvents(subscription, 1))[0]!.id).toBe(C.id);
      });

      it("delivers a new event to a live subscriber within 100 ms", async () => {
        const marker = await store.append(stream("a"), events(1));
        const subscription = subscribe({ from: marker.position, filter: ownStreams() });
        await store.append(stream("a"), events(1));
        await collectEvents(subscription, 1);

        const latencies: number[] = [];
        for (let sample = 0; sample < 5; sample++) {
          // Pull first, so the subscriber is already waiting when the event is appended.
          const next = collectEvents(subscription, 1, 2_000);
          const started = performance.now();
          await store.append(stream("a"), events(1));
          await next;
          latencies.push(performance.now() - started);
        }
        // The median, so that one scheduling hiccup on a busy machine does not fail the test.
        latencies.sort((a, b) => a - b);
        expect(latencies[2]).toBeLessThan(100);
      });

      it("close() ends an iteration that is waiting for the next event", async () => {
        const marker = await store.append(stream("a"), events(1));
        const subscription = subscribe({ from: marker.position, filter: ownStreams() });
        const pending = subscription[Symbol.asyncIterator]().next();
        await subscription.close();
        const ended = await Promise.race([
          pending,
          new Promise<"still waiting">((resolve) => setTimeout(() => resolve("still waiting"), 1_000)),
        ]);
        expect(ended).toEqual({ done: true, value: undefined });
      });
    });

    describe("checkpoints", () => {
      it("loads null for an unknown projector, then what was last stored", async () => {
        const projector = `projector-${suffix}`;
        expect(await checkpoints.load(projector)).toBeNull();
        await checkpoints.store(projector, 42n);
        expect(await checkpoints.load(projector)).toBe(42n);
        await checkpoints.store(projector, 9_007_199_254_740_993n);
        expect(await checkpoints.load(projector)).toBe(9_007_199_254_740_993n);
      });

      it("lists every projector that has stored a checkpoint", async () => {
        await checkpoints.store(`billing-${suffix}`, 7n);
        await checkpoints.store(`analytics-${suffix}`, 3n);
        await checkpoints.store(`billing-${suffix}`, 11n);
        const listed = await checkpoints.list();
        expect(listed.get(`billing-${suffix}`)).toBe(11n);
        expect(listed.get(`analytics-${suffix}`)).toBe(3n);
      });
    });
  });
}
