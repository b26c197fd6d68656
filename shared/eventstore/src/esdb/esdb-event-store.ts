import {
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  BACKWARDS,
  END,
  ErrorType,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  type ReadPosition,
  jsonEvent,
  metastreamOf,
  type ResolvedEvent,
} from "@eventstore/db-client";
import {
  type AppendOptions,
  type AppendResult,
  checkExpectedRevision,
  type EventFilter,
  type EventStore,
  type EventToAppend,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  START,
  type SubscribeOptions,
  type Subscription,
} from "../event-store.js";
import type { DeleteEventsBeforeOptions, SupportsRetention } from "../retention/supports-retention.js";
import { toEsdbConnectionString } from "./esdb-connection-string.js";
import { fromEsdbEvent, toEsdbEventData } from "./esdb-event-mapping.js";
import { type EsdbFilterPlan, isHiddenEvent, planEsdbFilter, toEsdbFilter } from "./esdb-filter-plan.js";
import { fromEsdbPosition, toEsdbReadPosition } from "./esdb-position.js";
import { toEsdbExpectedRevision } from "./esdb-revision.js";
import { EsdbSubscription } from "./esdb-subscription.js";
import { hasEsdbErrorType } from "./has-esdb-error-type.js";
import { toPortError } from "./to-port-error.js";

export interface EventStoreDbEventStoreOptions {
  /**
   * A filtered read of $all runs as a bounded server-side subscription. When the server
   * sends nothing for this long before the read is complete (a server older than 23.10
   * never says it has caught up), the rest is read unfiltered. Default 250 ms.
   */
  filteredReadQuietMs?: number;
  /** Events fetched per request when paging through $all or a stream. Default 500. */
  pageSize?: number;
}

/**
 * The production event store, on EventStoreDB / KurrentDB through @eventstore/db-client.
 *
 * Mapping to the port:
 * - positions are commit positions (see esdb-position.ts for why one number is enough
 *   and how the exclusive `from` is honoured);
 * - event ids are the server's ids, so its deduplication makes retried appends no-ops;
 *   non-UUID ids are mapped to name-based UUIDs (esdb-event-mapping.ts);
 * - the schema version rides in the event metadata;
 * - system events (`$` types and streams) and the adapter's own streams (`tollgate.`)
 *   are never returned by readAll, readLatest, headPosition or subscriptions.
 *
 * Server versions: any gRPC server (20.10+) for subscriptions and unfiltered reads; 22.6+
 * for positions on stream reads; filtered reads end promptly on 23.10+ (the caught-up
 * signal) and after `filteredReadQuietMs` on older servers. See README.md in this folder.
 */
export class EventStoreDbEventStore implements EventStore, SupportsRetention {
  readonly client: EventStoreDBClient;
  readonly #quietMs: number;
  readonly #pageSize: number;
  readonly #subscriptions = new Set<EsdbSubscription>();
  #closed = false;

  /** The store owns `client` and disposes it on close; an EventStoreDbCheckpointStore may borrow it. */
  constructor(client: EventStoreDBClient, options: EventStoreDbEventStoreOptions = {}) {
    this.client = client;
    this.#quietMs = options.filteredReadQuietMs ?? 250;
    this.#pageSize = options.pageSize ?? 500;
  }

  /** Connects lazily: the first operation opens the channel, and a server that is down surfaces as StoreUnavailableError. */
  static connect(connectionString: string, options?: EventStoreDbEventStoreOptions): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(toEsdbConnectionString(connectionString)), options);
  }

  async append(streamId: string, events: readonly EventToAppend[], options: AppendOptions = {}): Promise<AppendResult> {
    this.#assertOpen();
    const expected = options.expectedRevision ?? "any";
    // The port makes a repeated id a no-op, within one call as well as across calls.
    const unique = [...new Map(events.map((event) => [event.id, event])).values()];
    try {
      if (unique.length === 0) {
        const actual = await this.#lastRevision(streamId);
        checkExpectedRevision(streamId, expected, actual);
        return { nextRevision: actual, position: await this.headPosition() };
      }
      const result = await this.client.appendToStream(streamId, unique.map(toEsdbEventData), {
        expectedRevision: toEsdbExpectedRevision(expected),
      });
      const nextRevision = Number(result.nextExpectedRevision);
      // The append response's position is the write's commit position, which the server
      // does not promise to be the last event's own position; the port promises exactly
      // that, so it is read back from the event at the returned revision.
      const last = await this.#readStreamPage(streamId, BigInt(nextRevision), 1, FORWARDS);
      return { nextRevision, position: last[0]?.position ?? fromEsdbPosition(result.position ?? { commit: 0n, prepare: 0n }) };
    } catch (error) {
      throw toPortError(error, { operation: "append", streamId, expected });
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.#assertOpen();
    const fromRevision = options.fromRevision ?? 0;
    if (options.limit !== undefined && options.limit <= 0) return [];
    try {
      return await this.#readStreamPage(streamId, BigInt(fromRevision), options.limit, FORWARDS);
    } catch (error) {
      throw toPortError(error, { operation: "readStream", streamId });
    }
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    this.#assertOpen();
    const { from, limit } = options;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`readAll limit must be a positive integer, got ${limit}`);
    const plan = planEsdbFilter(options.filter);
    if (!plan.canMatch) return [];
    try {
      return plan.server.on === "not-hidden"
        ? await this.#scanForwards(from, limit, plan)
        : await this.#readAllFiltered(from, limit, plan);
    } catch (error) {
      throw toPortError(error, { operation: "readAll" });
    }
  }

  async readLatest(count: number, filter?: EventFilter): Promise<RecordedEvent[]> {
    this.#assertOpen();
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`readLatest count must be a non-negative integer, got ${count}`);
    const plan = planEsdbFilter(filter);
    if (count === 0 || !plan.canMatch) return [];
    try {
      // Backwards, filtered here: subscriptions (the only server-side filter of this
      // client) only run forwards. A rare type may scan far; this serves tools, not projectors.
      const newestFirst = await this.#scanBackwards((event) => plan.accepts(event.streamId, event.type), count);
      return newestFirst.reverse();
    } catch (error) {
      throw toPortError(error, { operation: "readLatest" });
    }
  }

  async headPosition(): Promise<Position> {
    this.#assertOpen();
    try {
      const [newest] = await this.#scanBackwards((event) => !isHiddenEvent(event.streamId, event.type), 1);
      return newest?.position ?? START;
    } catch (error) {
      throw toPortError(error, { operation: "headPosition" });
    }
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.#assertOpen();
    const plan = planEsdbFilter(options.filter);
    const inner = this.client.subscribeToAll({
      fromPosition: toEsdbReadPosition(options.from),
      filter: toEsdbFilter(plan, 1),
    });
    const subscription = new EsdbSubscription(inner, options.from, plan, () => this.#subscriptions.delete(subscription));
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Retention by truncation: each matching stream gets `truncateBefore` set past its
   * removable prefix. Stream reads stop returning those events at once; $all keeps
   * returning them until the next scavenge, which reclaims the space. `$maxAge` is not
   * used because the server would apply it without regard for projectors' checkpoints.
   */
  async deleteEventsBefore(options: DeleteEventsBeforeOptions): Promise<number> {
    this.#assertOpen();
    if (options.streamPrefixes.length === 0) return 0;
    try {
      let removed = 0;
      for (const streamId of await this.#streamsWithPrefixes(options.streamPrefixes, options.maxPosition)) {
        removed += await this.#truncateStream(streamId, options);
      }
      return removed;
    } catch (error) {
      throw toPortError(error, { operation: "deleteEventsBefore" });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    await this.client.dispose();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("the EventStoreDB event store is closed");
  }

  async #readStreamPage(
    streamId: string,
    fromRevision: bigint | typeof END,
    maxCount: number | undefined,
    direction: typeof FORWARDS | typeof BACKWARDS,
  ): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    try {
      const read = this.client.readStream(streamId, {
        fromRevision,
        direction,
        ...(maxCount === undefined ? {} : { maxCount }),
      });
      for await (const resolved of read) {
        const event = resolved.event;
        if (event) events.push(fromEsdbEvent(event, positionOf(resolved)));
      }
    } catch (error) {
      // A stream that never existed, or was deleted, reads as empty.
      if (hasEsdbErrorType(error, ErrorType.STREAM_NOT_FOUND, ErrorType.STREAM_DELETED)) {
        return [];
      }
      throw error;
    }
    return events;
  }

  async #lastRevision(streamId: string): Promise<number> {
    const [last] = await this.#readStreamPage(streamId, END, 1, BACKWARDS);
    return last?.revision ?? -1;
  }

  /**
   * Pages of $all read forwards, filtered here: events after `after` that `plan`
   * accepts, until `limit` of them, the log's end, or (when given) the position `end`.
   * Reading starts at `startAt` (default `after`), which may be later when the events in
   * between are known not to match.
   */
  async #scanForwards(
    after: Position,
    limit: number,
    plan: EsdbFilterPlan,
    options: { startAt?: Position; end?: Position; page?: RecordedEvent[] } = {},
  ): Promise<RecordedEvent[]> {
    const page = options.page ?? [];
    const end = options.end;
    let cursor = options.startAt ?? after;
    let first = true;
    for (;;) {
      // One more than needed, since reading $all from a position includes the event at it.
      const maxCount = Math.min(limit - page.length + 1, this.#pageSize + 1);
      let received = 0;
      let done = false;
      // Each read runs to its end (maxCount bounds it): see #lastRecordPosition.
      for await (const resolved of this.client.readAll({ fromPosition: toEsdbReadPosition(cursor), maxCount })) {
        received += 1;
        const event = resolved.event;
        if (!event || done) continue;
        const position = fromEsdbPosition(event.position);
        // The event at `startAt` itself is examined on the first page: the server may
        // have stopped just before it. After that, the cursor is an event already seen.
        if (first ? position < cursor : position <= cursor) continue;
        cursor = position;
        if (end !== undefined && position > end) {
          done = true;
          continue;
        }
        if (position > after && plan.accepts(event.streamId, event.type)) page.push(fromEsdbEvent(event, position));
        if (page.length === limit || (end !== undefined && position >= end)) done = true;
      }
      first = false;
      if (done || received < maxCount) return page;
    }
  }

  /**
   * A filtered page of $all. The 6.x client filters on the server only for
   * subscriptions, so this runs a filtered catch-up subscription from `from` and ends it
   * at the first of: `limit` events; an event or checkpoint at the log's end as it was
   * when the read started; the server's caught-up signal (EventStoreDB 23.10+).
   *
   * An older server sends no caught-up signal, and no checkpoint for the last events it
   * examined. When it goes quiet for `filteredReadQuietMs` before reaching the end, the
   * rest is read unfiltered from its last checkpoint and filtered here: at most one
   * checkpoint interval of events, and exact either way.
   */
  async #readAllFiltered(from: Position, limit: number, plan: EsdbFilterPlan): Promise<RecordedEvent[]> {
    const end = await this.#lastRecordPosition();
    if (end === null || end <= from) return [];
    const partial = await new Promise<{ page: RecordedEvent[]; complete: boolean; checkpoint: Position | null }>(
      (resolve, reject) => {
        const page: RecordedEvent[] = [];
        let checkpoint: Position | null = null;
        let settled = false;
        let quiet: NodeJS.Timeout | undefined;
        const settle = (outcome: { complete: boolean } | { error: Error }): void => {
          if (settled) return;
          settled = true;
          clearTimeout(quiet);
          // Cancelling is enough: the stream keeps flowing (into the listener below, which
          // now ignores everything) until the call has ended. A paused or destroyed stream
          // would never finish, and the client's dispose() waits for every stream to finish.
          void subscription.unsubscribe().catch(() => undefined);
          if ("error" in outcome) reject(outcome.error);
          else resolve({ page, complete: outcome.complete, checkpoint });
        };
        const restartQuietTimer = (): void => {
          clearTimeout(quiet);
          quiet = setTimeout(() => settle({ complete: false }), this.#quietMs);
        };
        const subscription: AllStreamSubscription = this.client.subscribeToAll({
          fromPosition: toEsdbReadPosition(from),
          filter: {
            ...toEsdbFilter(plan, 1),
            checkpointReached: (_subscription, position) => {
              if (settled) return;
              restartQuietTimer();
              checkpoint = fromEsdbPosition(position);
              if (checkpoint >= end) settle({ complete: true });
            },
          },
        });
        subscription.on("data", (resolved: AllStreamResolvedEvent) => {
          if (settled) return;
          restartQuietTimer();
          const event = resolved.event;
          if (!event) return;
          const position = fromEsdbPosition(event.position);
          if (position > from && plan.accepts(event.streamId, event.type)) page.push(fromEsdbEvent(event, position));
          if (page.length >= limit || position >= end) settle({ complete: true });
        });
        // Events that came before the signal may still sit in the stream's buffer; they are
        // emitted on the next ticks, which run before an immediate.
        subscription.on("caughtUp", () => setImmediate(() => settle({ complete: true })));
        subscription.on("error", (error: Error) => settle({ error }));
        subscription.on("end", () => settle({ complete: false }));
        restartQuietTimer();
      },
    );
    if (partial.complete) return partial.page;
    const delivered = partial.page.at(-1)?.position ?? from;
    const startAt = partial.checkpoint !== null && partial.checkpoint > delivered ? partial.checkpoint : delivered;
    return this.#scanForwards(delivered, limit, plan, { startAt, end, page: partial.page });
  }

  /** The position of the last record in $all, hidden or not; null when the log is empty. */
  async #lastRecordPosition(): Promise<Position | null> {
    let last: Position | null = null;
    // Read to the end rather than return from inside the loop: leaving a read early
    // leaves its call open, and the client's dispose() waits for every call to end.
    for await (const resolved of this.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 })) {
      if (resolved.event) last = fromEsdbPosition(resolved.event.position);
    }
    return last;
  }

  /** Newest first: up to `count` events of $all that satisfy `accepts`. */
  async #scanBackwards(accepts: (event: { streamId: string; type: string }) => boolean, count: number): Promise<RecordedEvent[]> {
    const found: RecordedEvent[] = [];
    let fromPosition: ReadPosition = END;
    let previous: Position | null = null;
    for (;;) {
      let received = 0;
      // Each read runs to its end (maxCount bounds it): see #lastRecordPosition.
      for await (const resolved of this.client.readAll({ fromPosition, direction: BACKWARDS, maxCount: this.#pageSize })) {
        received += 1;
        const event = resolved.event;
        if (!event || found.length === count) continue;
        const position = fromEsdbPosition(event.position);
        // In case a backwards page that starts at a position includes the event at it.
        if (previous !== null && position >= previous) continue;
        previous = position;
        if (accepts(event)) found.push(fromEsdbEvent(event, position));
      }
      if (found.length === count || received < this.#pageSize || previous === null) return found;
      fromPosition = { commit: previous, prepare: previous };
    }
  }

  /**
   * Streams whose names start with one of `prefixes`. The by-stream system projection
   * (`$streams`) lists every stream cheaply; where it is not running, or not readable by
   * this user, $all is scanned with a server-side stream-name filter up to `maxPosition`.
   */
  async #streamsWithPrefixes(prefixes: readonly string[], maxPosition: Position): Promise<string[]> {
    const matches = (streamId: string): boolean => prefixes.some((prefix) => streamId.startsWith(prefix));
    try {
      const names = new Set<string>();
      for await (const resolved of this.client.readStream("$streams", { resolveLinkTos: false })) {
        const name = linkTarget(resolved.event?.data);
        if (name !== null && matches(name)) names.add(name);
      }
      return [...names];
    } catch (error) {
      const fallback =
        hasEsdbErrorType(error, ErrorType.STREAM_NOT_FOUND, ErrorType.ACCESS_DENIED);
      if (!fallback) throw error;
    }
    const names = new Set<string>();
    const plan = planEsdbFilter({ streamPrefixes: prefixes });
    let cursor = START;
    for (;;) {
      const page = await this.#readAllFiltered(cursor, this.#pageSize, plan);
      for (const event of page) if (event.position <= maxPosition) names.add(event.streamId);
      const last = page.at(-1);
      if (!last || page.length < this.#pageSize || last.position >= maxPosition) return [...names];
      cursor = last.position;
    }
  }

  /** Moves a stream's `truncateBefore` past its events that are old enough and that every projector has passed. */
  async #truncateStream(streamId: string, options: DeleteEventsBeforeOptions): Promise<number> {
    // The metadata stream is read and written directly, as the raw `$metadata` JSON:
    // the 6.x client's getStreamMetadata reports a commit position as the metastream's
    // revision, which is useless as an expected revision.
    const metastream = metastreamOf(streamId);
    const [latest] = await this.#readStreamPage(metastream, END, 1, BACKWARDS);
    const metadata = isRecord(latest?.data) ? latest.data : {};
    const current = typeof metadata.$tb === "number" ? metadata.$tb : 0;

    // Within a stream, positions and recording times only grow, so the removable events
    // are a prefix: the first one that is too new or not yet passed ends it.
    let cut = current;
    let next = BigInt(current);
    scan: for (;;) {
      const page = await this.#readStreamPage(streamId, next, this.#pageSize, FORWARDS);
      for (const event of page) {
        if (event.position > options.maxPosition || event.recordedAt.getTime() >= options.olderThan.getTime()) break scan;
        cut = event.revision + 1;
      }
      const last = page.at(-1);
      if (!last || page.length < this.#pageSize) break;
      next = BigInt(last.revision + 1);
    }
    if (cut <= current) return 0;

    try {
      // Guarded by the metadata revision that was read: a concurrent run that moved the
      // cut further must not be undone by this one moving it back. Other settings
      // ($maxCount, ACLs) are kept as they were.
      await this.client.appendToStream(metastream, jsonEvent({ type: "$metadata", data: { ...metadata, $tb: cut } }), {
        expectedRevision: latest ? BigInt(latest.revision) : NO_STREAM,
      });
    } catch (error) {
      if (hasEsdbErrorType(error, ErrorType.WRONG_EXPECTED_VERSION)) return 0;
      throw error;
    }
    return cut - current;
  }
}

/** Stream reads return the position on the event (server 22.6+) or beside it. */
function positionOf(resolved: ResolvedEvent): Position {
  const position = resolved.event?.position ?? resolved.link?.position;
  if (position) return fromEsdbPosition(position);
  if (resolved.commitPosition !== undefined) return resolved.commitPosition;
  throw new Error("EventStoreDB returned an event without a position; version 22.6 or later is required");
}

/** `$streams` holds links whose data is `<revision>@<stream>`. */
function linkTarget(data: unknown): string | null {
  const text = typeof data === "string" ? data : data instanceof Uint8Array ? Buffer.from(data).toString("utf8") : null;
  if (text === null) return null;
  const at = text.indexOf("@");
  return at === -1 ? null : text.slice(at + 1);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
