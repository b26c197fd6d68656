import {
  type AppendOptions,
  type AppendResult,
  checkExpectedRevision,
  dataOf,
  type EventFilter,
  type EventStore,
  type EventToAppend,
  matchesFilter,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  START,
  type SubscribeOptions,
  type Subscription,
} from "../event-store.js";
import { CatchUpSubscription } from "./catch-up-subscription.js";
import type { DeleteEventsBeforeOptions, SupportsRetention } from "../retention/supports-retention.js";

export interface InMemoryEventStoreOptions {
  /** Stamps `recordedAt`. Default: the system clock. */
  clock?: () => Date;
  /** How many events a subscription reads at a time while catching up. Default 500. */
  subscriptionPageSize?: number;
}

interface StreamState {
  /** Survives retention, so a stream never reuses a revision. */
  lastRevision: number;
  events: RecordedEvent[];
}

/**
 * The event store for unit tests: the SQLite adapter's semantics (global position
 * order, expected revisions, idempotency by event id, retention) in a few arrays.
 *
 * Data goes through JSON on the way in, exactly as it does in SQLite, so a test cannot
 * pass here with data the real store would mangle; every read returns fresh copies.
 */
export class InMemoryEventStore implements EventStore, SupportsRetention {
  readonly #clock: () => Date;
  readonly #pageSize: number;
  #log: RecordedEvent[] = [];
  readonly #streams = new Map<string, StreamState>();
  /** Event id → stream it was written to. */
  readonly #ids = new Map<string, string>();
  #head: Position = 0n;
  /** Bumped by every append; a subscription that saw version v waits for v + 1. */
  #version = 0;
  readonly #waiters = new Set<() => void>();
  readonly #subscriptions = new Set<CatchUpSubscription>();
  #closed = false;

  constructor(options: InMemoryEventStoreOptions = {}) {
    this.#clock = options.clock ?? (() => new Date());
    this.#pageSize = options.subscriptionPageSize ?? 500;
  }

  append(streamId: string, events: readonly EventToAppend[], options: AppendOptions = {}): Promise<AppendResult> {
    return Promise.resolve().then(() => this.#append(streamId, events, options));
  }

  #append(streamId: string, events: readonly EventToAppend[], options: AppendOptions): AppendResult {
    this.#assertOpen();
    const stream = this.#streams.get(streamId);
    const actual = stream?.lastRevision ?? -1;

    // Ids the store already holds are skipped without taking a revision. When every
    // event is already in this very stream the call is a retry of an append that
    // succeeded, and it succeeds again whatever revision it expected.
    const seen = new Set<string>();
    const fresh: EventToAppend[] = [];
    let allAlreadyInStream = events.length > 0;
    for (const event of events) {
      if (seen.has(event.id)) continue;
      seen.add(event.id);
      const holder = this.#ids.get(event.id);
      if (holder === undefined) fresh.push(event);
      if (holder !== streamId) allAlreadyInStream = false;
    }
    if (allAlreadyInStream) return { nextRevision: actual, position: this.#head };

    checkExpectedRevision(streamId, options.expectedRevision ?? "any", actual);
    if (fresh.length === 0) return { nextRevision: actual, position: this.#head };

    const recordedAt = this.#clock();
    const state = stream ?? { lastRevision: -1, events: [] };
    for (const event of fresh) {
      this.#head += 1n;
      state.lastRevision += 1;
      const recorded: RecordedEvent = {
        id: event.id,
        type: event.type,
        version: event.version,
        data: throughJson(dataOf(event)),
        metadata: throughJson(event.metadata ?? {}) as Record<string, unknown>,
        streamId,
        revision: state.lastRevision,
        position: this.#head,
        recordedAt: new Date(recordedAt.getTime()),
      };
      state.events.push(recorded);
      this.#log.push(recorded);
      this.#ids.set(event.id, streamId);
    }
    this.#streams.set(streamId, state);
    this.#notify();
    return { nextRevision: state.lastRevision, position: this.#head };
  }

  readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return Promise.resolve().then(() => {
      this.#assertOpen();
      const fromRevision = options.fromRevision ?? 0;
      const matching = (this.#streams.get(streamId)?.events ?? []).filter((event) => event.revision >= fromRevision);
      const page = options.limit === undefined ? matching : matching.slice(0, options.limit);
      return page.map(copyOf);
    });
  }

  readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    return Promise.resolve().then(() => this.#readAll(options.from, options.limit, options.filter));
  }

  #readAll(from: Position, limit: number, filter: EventFilter | undefined): RecordedEvent[] {
    this.#assertOpen();
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    const page: RecordedEvent[] = [];
    for (let index = firstIndexAfter(this.#log, from); index < this.#log.length && page.length < limit; index++) {
      const event = this.#log[index]!;
      if (matchesFilter(filter, event.streamId, event.type)) page.push(copyOf(event));
    }
    return page;
  }

  readLatest(count: number, filter?: EventFilter): Promise<RecordedEvent[]> {
    return Promise.resolve().then(() => {
      this.#assertOpen();
      if (!Number.isInteger(count) || count < 1) throw new RangeError(`limit must be a positive integer, got ${count}`);
      const newest: RecordedEvent[] = [];
      for (let index = this.#log.length - 1; index >= 0 && newest.length < count; index--) {
        const event = this.#log[index]!;
        if (matchesFilter(filter, event.streamId, event.type)) newest.push(copyOf(event));
      }
      return newest.reverse();
    });
  }

  headPosition(): Promise<Position> {
    return Promise.resolve().then(() => {
      this.#assertOpen();
      return this.#log.at(-1)?.position ?? START;
    });
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.#assertOpen();
    const subscription = new CatchUpSubscription({
      from: options.from,
      readPage: (from) => this.#readAll(from, this.#pageSize, options.filter),
      version: () => this.#version,
      waitForAppend: (seenVersion, signal) => this.#waitForAppend(seenVersion, signal),
      onClose: () => this.#subscriptions.delete(subscription),
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  deleteEventsBefore(options: DeleteEventsBeforeOptions): Promise<number> {
    return Promise.resolve().then(() => {
      this.#assertOpen();
      const doomed = (event: RecordedEvent): boolean =>
        event.position <= options.maxPosition &&
        event.recordedAt.getTime() < options.olderThan.getTime() &&
        options.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix));
      const before = this.#log.length;
      for (const event of this.#log) if (doomed(event)) this.#ids.delete(event.id);
      this.#log = this.#log.filter((event) => !doomed(event));
      for (const state of this.#streams.values()) state.events = state.events.filter((event) => !doomed(event));
      return before - this.#log.length;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    this.#closed = true;
  }

  #notify(): void {
    this.#version += 1;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  #waitForAppend(seenVersion: number, signal: AbortSignal): Promise<void> {
    if (this.#version !== seenVersion || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#waiters.delete(wake);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      this.#waiters.add(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("the in-memory event store is closed");
  }
}

function firstIndexAfter(log: readonly RecordedEvent[], from: Position): number {
  let low = 0;
  let high = log.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (log[middle]!.position <= from) low = middle + 1;
    else high = middle;
  }
  return low;
}

function throughJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function copyOf(event: RecordedEvent): RecordedEvent {
  return structuredClone(event);
}
