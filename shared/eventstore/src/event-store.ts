/**
 * The event store port. Two real adapters implement it (SQLite, the embedded default;
 * EventStoreDB, production) and one in-memory adapter serves unit tests. One contract
 * suite (contract/) runs against all of them.
 *
 * Positions are global and totally ordered: an event appended after another one that
 * was already visible to a reader always gets a greater position. Readers and
 * subscribers address the log by "the last position I have processed", so `from`
 * is always exclusive.
 */

/** A global log position. `START` (0n) is before the first event. */
export type Position = bigint;
export const START: Position = 0n;

/**
 * `any`: append regardless of the stream's state.
 * `no-stream`: the stream must not exist yet.
 * `exists`: the stream must already hold at least one event.
 * a number: the revision of the stream's last event (revisions start at 0).
 */
export type ExpectedRevision = "any" | "no-stream" | "exists" | number;

export interface EventToAppend {
  /** Unique id. Appending an id that the store already holds is a no-op (idempotent retry). */
  id: string;
  type: string;
  /** Schema version of `data` for this type. */
  version: number;
  data: unknown;
  /**
   * `data` already serialized as JSON. When set, adapters store it as is and ignore
   * `data`. The gateway's group commit serializes each event on the request path, while
   * the object is still young, so its append worker neither clones nor re-serializes it.
   */
  serializedData?: string;
  metadata?: Record<string, unknown>;
}

/** The event's data as JSON text, whichever way the caller supplied it. */
export function serializedDataOf(event: EventToAppend): string {
  return event.serializedData ?? JSON.stringify(event.data ?? null);
}

/** The event's data as a value, whichever way the caller supplied it. */
export function dataOf(event: EventToAppend): unknown {
  return event.serializedData === undefined ? (event.data ?? null) : (JSON.parse(event.serializedData) as unknown);
}

export interface RecordedEvent {
  id: string;
  type: string;
  version: number;
  data: unknown;
  metadata: Record<string, unknown>;
  streamId: string;
  revision: number;
  position: Position;
  recordedAt: Date;
}

export interface AppendOptions {
  expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /** Revision of the stream's last event after the append. -1 when the stream is still empty. */
  nextRevision: number;
  /** Position of the last event written by this append; unchanged log head if all were duplicates. */
  position: Position;
}

export interface ReadStreamOptions {
  /** First revision to read (inclusive). Default 0. */
  fromRevision?: number;
  limit?: number;
}

/** Matches an event when it matches every given criterion; an absent criterion matches all. */
export interface EventFilter {
  eventTypes?: readonly string[];
  streamPrefixes?: readonly string[];
}

export interface ReadAllOptions {
  /** Exclusive: events with a greater position are returned. */
  from: Position;
  limit: number;
  filter?: EventFilter;
}

export interface SubscribeOptions {
  /** Exclusive: the subscription delivers events after this position, then new ones as they are appended. */
  from: Position;
  filter?: EventFilter;
}

/** A live catch-up subscription. Iterate it; `close()` ends the iteration. */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  close(): Promise<void>;
}

export interface EventStore {
  append(streamId: string, events: readonly EventToAppend[], options?: AppendOptions): Promise<AppendResult>;
  /** Events of one stream in revision order. A stream that does not exist reads as empty. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** One page of the global log in position order. */
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  /** The newest `count` events of the log that match the filter, oldest first (for tools such as `events tail`). */
  readLatest(count: number, filter?: EventFilter): Promise<RecordedEvent[]>;
  /** Position of the newest event in the log; START when the log is empty. */
  headPosition(): Promise<Position>;
  subscribe(options: SubscribeOptions): Subscription;
  close(): Promise<void>;
}

/**
 * Where projectors keep how far they have got. Every projector that has ever stored a
 * checkpoint is registered, and retention never removes an event that a registered
 * projector has not passed.
 */
export interface CheckpointStore {
  load(name: string): Promise<Position | null>;
  store(name: string, position: Position): Promise<void>;
  /** Every registered projector and its checkpoint. */
  list(): Promise<Map<string, Position>>;
}

export class WrongExpectedRevisionError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual last revision; -1 when it does not exist. */
    readonly actual: number,
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${actual}`);
    this.name = "WrongExpectedRevisionError";
  }
}

/** The store cannot be reached or is locked; the operation may succeed later. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

export function matchesFilter(filter: EventFilter | undefined, streamId: string, type: string): boolean {
  if (!filter) return true;
  if (filter.eventTypes && !filter.eventTypes.includes(type)) return false;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((prefix) => streamId.startsWith(prefix))) return false;
  return true;
}

export function checkExpectedRevision(streamId: string, expected: ExpectedRevision, actual: number): void {
  const ok =
    expected === "any" ||
    (expected === "no-stream" && actual === -1) ||
    (expected === "exists" && actual >= 0) ||
    expected === actual;
  if (!ok) throw new WrongExpectedRevisionError(streamId, expected, actual);
}
