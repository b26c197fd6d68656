import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CheckpointStore,
  type EventStore,
  type EventToAppend,
  type Position,
  type RecordedEvent,
  StoreUnavailableError,
} from "../event-store.js";
import { InMemoryCheckpointStore } from "../memory/in-memory-checkpoint-store.js";
import { InMemoryEventStore } from "../memory/in-memory-event-store.js";
import { backoffDelay } from "./backoff-delay.js";
import type { BatchContext, Projector } from "./projector.js";
import type { RunnerTimers } from "./runner-timers.js";
import { SubscriptionRunnerSettings } from "./subscription-runner-settings.js";
import { runProjector, SubscriptionRunner, type SubscriptionRunnerOptions } from "./subscription-runner.js";

const event = (n: number, type = "Happened"): EventToAppend => ({ id: randomUUID(), type, version: 1, data: { n } });
const events = (from: number, count: number, type?: string): EventToAppend[] =>
  Array.from({ length: count }, (_, i) => event(from + i, type));
const numberOf = (recorded: RecordedEvent): number => (recorded.data as { n: number }).n;

/** Polls until `condition` holds, failing after `timeoutMs`: tests never sleep a fixed time. */
async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 3_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Sleeps that end on the next turn of the event loop, whatever was asked for, and a record of what was. */
class InstantTimers implements RunnerTimers {
  readonly requested: number[] = [];
  now(): number {
    return Date.now();
  }
  sleep(ms: number): Promise<void> {
    this.requested.push(ms);
    return new Promise((resolve) => setImmediate(resolve));
  }
}

/** Sleeps that end only when the test says so (or when aborted). */
class ManualTimers implements RunnerTimers {
  readonly #pending = new Set<() => void>();
  now(): number {
    return Date.now();
  }
  get waiting(): number {
    return this.#pending.size;
  }
  sleep(_ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#pending.delete(wake);
        resolve();
      };
      this.#pending.add(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }
  fireAll(): void {
    for (const wake of [...this.#pending]) wake();
  }
}

/** A projector that records what it was handed. */
class RecordingProjector implements Projector {
  readonly batches: number[][] = [];
  readonly name: string;
  readonly filter?: Projector["filter"];
  behaviour: (batch: readonly RecordedEvent[], context: BatchContext) => Promise<void> = () => Promise.resolve();

  constructor(name = "recording", filter?: Projector["filter"]) {
    this.name = name;
    if (filter) this.filter = filter;
  }

  async handle(batch: readonly RecordedEvent[], context: BatchContext): Promise<void> {
    await this.behaviour(batch, context);
    this.batches.push(batch.map(numberOf));
  }

  get handled(): number[] {
    return this.batches.flat();
  }
}

describe("SubscriptionRunner", () => {
  const runners: SubscriptionRunner[] = [];
  const stores: InMemoryEventStore[] = [];
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.stop({ abandon: true })));
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  const setup = (): { store: InMemoryEventStore; checkpoints: InMemoryCheckpointStore } => {
    const store = new InMemoryEventStore();
    stores.push(store);
    return { store, checkpoints: new InMemoryCheckpointStore() };
  };
  const start = (options: SubscriptionRunnerOptions): SubscriptionRunner => {
    const runner = runProjector(options);
    runners.push(runner);
    return runner;
  };

  it("delivers every event once, in order, in batches no larger than maxBatchSize, and checkpoints each batch", async () => {
    const { store, checkpoints } = setup();
    await store.append("things-1", events(0, 25));
    const projector = new RecordingProjector();
    const runner = start({ store, checkpoints, projector, maxBatchSize: 10, maxBatchWaitMs: 5 });

    await waitFor(() => projector.handled.length === 25, 3_000, "25 events");
    await store.append("things-2", events(25, 5));
    await waitFor(() => projector.handled.length === 30, 3_000, "5 live events");

    expect(projector.handled).toEqual(Array.from({ length: 30 }, (_, n) => n));
    expect(Math.max(...projector.batches.map((batch) => batch.length))).toBeLessThanOrEqual(10);
    const head = await store.headPosition();
    await waitFor(async () => (await checkpoints.load("recording")) === head, 3_000, "the checkpoint at the head");
    expect(runner.status()).toMatchObject({ checkpoint: head, eventsHandled: 30, consecutiveFailures: 0, pendingEvents: 0 });
  });

  it("resumes after the stored checkpoint: a new runner sees only what came after", async () => {
    const { store, checkpoints } = setup();
    await store.append("things-1", events(0, 4));
    const first = new RecordingProjector();
    const runner = start({ store, checkpoints, projector: first, maxBatchWaitMs: 0 });
    await waitFor(() => first.handled.length === 4);
    await runner.stop();

    await store.append("things-1", events(4, 3));
    const second = new RecordingProjector();
    start({ store, checkpoints, projector: second, maxBatchWaitMs: 0 });
    await waitFor(() => second.handled.length === 3);
    expect(second.handled).toEqual([4, 5, 6]);
  });

  it("gathers events that arrive within maxBatchWaitMs into one batch", async () => {
    const { store, checkpoints } = setup();
    const timers = new ManualTimers();
    const projector = new RecordingProjector();
    const runner = start({ store, checkpoints, projector, maxBatchSize: 100, maxBatchWaitMs: 1_000, timers });

    await store.append("things-1", events(0, 1));
    await waitFor(() => runner.status().pendingEvents === 1 && timers.waiting === 1, 3_000, "the batch window to open");
    await store.append("things-1", events(1, 2));
    await waitFor(() => runner.status().pendingEvents === 3, 3_000, "three pending events");
    expect(projector.batches).toEqual([]);

    timers.fireAll();
    await waitFor(() => projector.batches.length === 1);
    expect(projector.batches).toEqual([[0, 1, 2]]);
  });

  it("passes the projector's filter to the subscription", async () => {
    const { store, checkpoints } = setup();
    const projector = new RecordingProjector("filtered", { eventTypes: ["Wanted"] });
    start({ store, checkpoints, projector, maxBatchWaitMs: 0 });
    await store.append("things-1", [event(0, "Unwanted"), event(1, "Wanted"), event(2, "Unwanted"), event(3, "Wanted")]);
    await waitFor(() => projector.handled.length === 2);
    expect(projector.handled).toEqual([1, 3]);
  });

  it("backs off exponentially after handler failures and re-delivers from the stored checkpoint", async () => {
    const { store, checkpoints } = setup();
    await store.append("things-1", events(0, 3));
    const timers = new InstantTimers();
    const projector = new RecordingProjector();
    const seen: number[][] = [];
    let failuresLeft = 3;
    projector.behaviour = (batch) => {
      seen.push(batch.map(numberOf));
      if (failuresLeft-- > 0) return Promise.reject(new Error("sink down"));
      return Promise.resolve();
    };
    const errors: { consecutiveFailures: number; delayMs: number }[] = [];
    const runner = start({
      store,
      checkpoints,
      projector,
      maxBatchSize: 2,
      maxBatchWaitMs: 0,
      backoff: { initialMs: 100, maxMs: 250 },
      timers,
      onError: (_error, retry) => errors.push(retry),
    });

    await waitFor(() => projector.handled.length === 3);
    expect(errors).toEqual([
      { consecutiveFailures: 1, delayMs: 100 },
      { consecutiveFailures: 2, delayMs: 200 },
      { consecutiveFailures: 3, delayMs: 250 },
    ]);
    expect(timers.requested.filter((ms) => ms > 0)).toEqual([100, 200, 250]);
    // The failing batch came back each time, from the same checkpoint (none yet).
    expect(seen.slice(0, 4)).toEqual([[0, 1], [0, 1], [0, 1], [0, 1]]);
    expect(projector.handled).toEqual([0, 1, 2]);
    expect(runner.status()).toMatchObject({ consecutiveFailures: 0, lastError: null });
  });

  it("re-delivers a batch whose checkpoint could not be stored (at-least-once)", async () => {
    const { store } = setup();
    const inner = new InMemoryCheckpointStore();
    let failStores = 1;
    const checkpoints: CheckpointStore = {
      load: (name) => inner.load(name),
      list: () => inner.list(),
      store: (name, position) =>
        failStores-- > 0 ? Promise.reject(new StoreUnavailableError("checkpoint store down")) : inner.store(name, position),
    };
    await store.append("things-1", events(0, 2));
    const projector = new RecordingProjector();
    const runner = start({ store, checkpoints, projector, maxBatchWaitMs: 0, timers: new InstantTimers() });

    await waitFor(() => runner.status().checkpoint !== null && runner.status().eventsHandled === 2);
    // Applied twice: once before the failed checkpoint write, once after the retry.
    expect(projector.handled).toEqual([0, 1, 0, 1]);
    expect(await inner.load("recording")).toBe(await store.headPosition());
  });

  it("keeps retrying while the store is unavailable, and carries on once it is back", async () => {
    const { store, checkpoints } = setup();
    await store.append("things-1", events(0, 2));
    let down = 2;
    const flaky: EventStore = {
      append: (...args) => store.append(...args),
      readStream: (...args) => store.readStream(...args),
      readAll: (...args) => store.readAll(...args),
      readLatest: (...args) => store.readLatest(...args),
      headPosition: () => store.headPosition(),
      close: () => store.close(),
      subscribe: (options) => {
        if (down-- > 0) throw new StoreUnavailableError("store down");
        return store.subscribe(options);
      },
    };
    const projector = new RecordingProjector();
    const errors: unknown[] = [];
    start({
      store: flaky,
      checkpoints,
      projector,
      maxBatchWaitMs: 0,
      timers: new InstantTimers(),
      onError: (error) => errors.push(error),
    });
    await waitFor(() => projector.handled.length === 2);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(StoreUnavailableError);
  });

  it("stop() lets the batch in flight finish and records its checkpoint", async () => {
    const { store, checkpoints } = setup();
    await store.append("things-1", events(0, 3));
    const projector = new RecordingProjector();
    let release: () => void = () => undefined;
    let signal: AbortSignal | undefined;
    projector.behaviour = (_batch, context) => {
      signal = context.signal;
      return new Promise<void>((resolve) => (release = resolve));
    };
    const runner = start({ store, checkpoints, projector, maxBatchWaitMs: 0 });
    await waitFor(() => runner.status().state === "handling");

    const stopped = runner.stop();
    release();
    await stopped;
    expect(signal?.aborted).toBe(false);
    expect(projector.handled).toEqual([0, 1, 2]);
    expect(await checkpoints.load("recording")).toBe(await store.headPosition());
    expect(runner.status().state).toBe("stopped");
  });

  it("stop({ abandon: true }) aborts the handler's signal and keeps the old checkpoint", async () => {
    const { store, checkpoints } = setup();
    await store.append("things-1", events(0, 3));
    const projector = new RecordingProjector();
    projector.behaviour = (_batch, context) =>
      new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve(), { once: true }));
    const runner = start({ store, checkpoints, projector, maxBatchWaitMs: 0 });
    await waitFor(() => runner.status().state === "handling");

    await runner.stop({ abandon: true });
    expect(await checkpoints.load("recording")).toBeNull();
    expect(runner.status()).toMatchObject({ state: "stopped", batchesHandled: 0 });
  });

  it("stop() while waiting for events ends promptly and is idempotent", async () => {
    const { store, checkpoints } = setup();
    const runner = start({ store, checkpoints, projector: new RecordingProjector(), maxBatchWaitMs: 0 });
    await waitFor(() => runner.status().state === "waiting");
    await runner.stop();
    await runner.stop();
    expect(runner.status().state).toBe("stopped");
    expect(() => runner.start()).toThrow(/already started or stopped/);
  });

  it("resumes a projector that owns its checkpoint from that checkpoint, and mirrors it for retention", async () => {
    const { store, checkpoints } = setup();
    await store.append("things-1", events(0, 5));
    const positions = (await store.readStream("things-1")).map((recorded) => recorded.position);
    // The projector's own "database": effects and checkpoint change together.
    const own = { applied: [] as number[], checkpoint: positions[1]! as Position | null };
    const projector: Projector = {
      name: "owner",
      ownedCheckpoint: { load: () => Promise.resolve(own.checkpoint) },
      handle: (batch, context) => {
        own.applied.push(...batch.map(numberOf));
        own.checkpoint = context.checkpoint;
        return Promise.resolve();
      },
    };
    // A stale runner-side checkpoint must not be used to resume.
    await checkpoints.store("owner", positions[0]!);
    start({ store, checkpoints, projector, maxBatchWaitMs: 0 });

    await waitFor(() => own.applied.length === 3);
    expect(own.applied).toEqual([2, 3, 4]);
    expect(own.checkpoint).toBe(positions[4]);
    await waitFor(async () => (await checkpoints.load("owner")) === positions[4]);
  });

  it("reports lag as the age of the oldest event received but not yet applied", async () => {
    const { checkpoints } = setup();
    let now = Date.parse("2026-11-26T10:00:00.000Z");
    const clockedStore = new InMemoryEventStore({ clock: () => new Date(now) });
    stores.push(clockedStore);
    const timers: RunnerTimers = { now: () => now, sleep: () => Promise.resolve() };
    const projector = new RecordingProjector();
    let release: () => void = () => undefined;
    projector.behaviour = () => new Promise<void>((resolve) => (release = resolve));
    await clockedStore.append("things-1", events(0, 1));
    now += 1_500;
    const runner = start({ store: clockedStore, checkpoints, projector, maxBatchWaitMs: 0, timers });
    await waitFor(() => runner.status().state === "handling");
    expect(runner.status()).toMatchObject({ pendingEvents: 1, lagMs: 1_500 });
    release();
    await waitFor(() => runner.status().eventsHandled === 1);
    expect(runner.status()).toMatchObject({ pendingEvents: 0, lagMs: 0 });
  });

  it("rejects settings that cannot work", () => {
    const { store, checkpoints } = setup();
    const projector = new RecordingProjector();
    expect(() => new SubscriptionRunner({ store, checkpoints, projector, maxBatchSize: 0 })).toThrow(RangeError);
    expect(() => new SubscriptionRunner({ store, checkpoints, projector, maxBatchWaitMs: -1 })).toThrow(RangeError);
    expect(() => new SubscriptionRunner({ store, checkpoints, projector, backoff: { initialMs: 10, maxMs: 5 } })).toThrow(
      RangeError,
    );
  });
});

describe("backoffDelay", () => {
  it("doubles from initialMs up to maxMs", () => {
    const options = { initialMs: 100, maxMs: 1_000 };
    expect([0, 1, 2, 3, 4, 5, 6].map((failures) => backoffDelay(failures, options))).toEqual([0, 100, 200, 400, 800, 1_000, 1_000]);
    expect(backoffDelay(10_000, options)).toBe(1_000);
  });
});

describe("SubscriptionRunnerSettings", () => {
  it("has a default for every field and lists every problem", () => {
    expect(SubscriptionRunnerSettings.parse({})).toEqual({
      maxBatchSize: 500,
      maxBatchWaitMs: 100,
      backoffInitialMs: 100,
      backoffMaxMs: 30_000,
    });
    const result = SubscriptionRunnerSettings.safeParse({ maxBatchSize: 0, maxBatchWaitMs: -1 });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join("."))).toEqual(["maxBatchSize", "maxBatchWaitMs"]);
  });
});
