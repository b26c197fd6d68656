import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type Database from "better-sqlite3";
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
  serializedDataOf,
  START,
  type SubscribeOptions,
  type Subscription,
} from "../event-store.js";
import { CatchUpSubscription } from "../memory/catch-up-subscription.js";
import type { DeleteEventsBeforeOptions, SupportsRetention } from "../retention/supports-retention.js";
import { eventColumns, readPageSql } from "./read-page-sql.js";
import { openSqliteDatabase, type SqliteDatabaseOptions } from "./open-sqlite-database.js";
import { SqliteChangeWatcher } from "./sqlite-change-watcher.js";
import { SqliteCheckpointStore } from "./sqlite-checkpoint-store.js";
import { translateSqliteError } from "./translate-sqlite-error.js";

export interface SqliteEventStoreOptions extends SqliteDatabaseOptions {
  /** How often a waiting subscription checks for appends made by other connections. Default 20 ms. */
  pollIntervalMs?: number;
  /** How many events a subscription reads at a time while catching up. Default 500. */
  subscriptionPageSize?: number;
  /** Stamps `recordedAt`, which retention compares against. Default: the system clock. */
  clock?: () => Date;
}

interface EventRow {
  position: bigint;
  id: string;
  stream_id: string;
  revision: bigint;
  type: string;
  version: bigint;
  data: string;
  metadata: string | null;
  recorded_at: bigint;
}

/** Rows retention looks at, and deletes, per write transaction: short enough that appenders never wait long. */
const retentionChunk = 5_000;
/** Pages handed back to the file system per incremental_vacuum step (8 MiB at 4 KiB pages). */
const vacuumChunkPages = 2_048;

/**
 * The embedded event store: one SQLite file in WAL mode, shared by every process of a
 * single-machine install (the gateway's appender, the control plane, the projectors).
 *
 * Ordering: appends run in `BEGIN IMMEDIATE` transactions, so SQLite lets one writer at
 * a time in, across processes. Positions come from AUTOINCREMENT inside that lock, so
 * they are handed out in commit order and a reader can never see position n + 1 without
 * n. A subscription that resumes after the last position it delivered therefore skips
 * nothing.
 *
 * better-sqlite3 is synchronous: each call does its work on the calling thread and only
 * returns a promise to fit the port. A large append blocks the event loop for its
 * duration, which is why the gateway appends from a worker thread.
 */
export class SqliteEventStore implements EventStore, SupportsRetention {
  readonly #db: Database.Database;
  readonly #clock: () => Date;
  readonly #pageSize: number;
  readonly #watcher: SqliteChangeWatcher;
  readonly #subscriptions = new Set<CatchUpSubscription>();
  readonly #pageStatements = new Map<string, Database.Statement>();
  /** `#firstOfTypes`'s statements, by number of types. */
  readonly #firstOfTypesStatements = new Map<number, Database.Statement<unknown[], bigint | null>>();
  readonly #statements: ReturnType<typeof prepareStatements>;
  readonly #appendInTransaction: (streamId: string, events: readonly EventToAppend[], options: AppendOptions) => AppendResult;
  #closed = false;

  private constructor(db: Database.Database, options: SqliteEventStoreOptions) {
    this.#db = db;
    this.#clock = options.clock ?? (() => new Date());
    this.#pageSize = options.subscriptionPageSize ?? 500;
    this.#statements = prepareStatements(db);
    const dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck();
    this.#watcher = new SqliteChangeWatcher(() => dataVersion.get()!, options.pollIntervalMs ?? 20);
    const append = db.transaction(this.#appendLocked.bind(this));
    this.#appendInTransaction = (streamId, events, appendOptions) => append.immediate(streamId, events, appendOptions);
  }

  /** Opens (and creates, with its folder) the file. Synchronous, like everything in better-sqlite3. */
  static open(options: SqliteEventStoreOptions): SqliteEventStore {
    const db = openSqliteDatabase(options);
    try {
      return new SqliteEventStore(db, options);
    } catch (error) {
      db.close();
      throw translateSqliteError(error, "open");
    }
  }

  /** Checkpoints in the same file, over this store's connection; valid until the store is closed. */
  checkpointStore(): SqliteCheckpointStore {
    return new SqliteCheckpointStore(this.#db);
  }

  append(streamId: string, events: readonly EventToAppend[], options: AppendOptions = {}): Promise<AppendResult> {
    return this.#run("append", () => {
      const result = this.#appendInTransaction(streamId, events, options);
      this.#watcher.notify();
      return result;
    });
  }

  /** Runs inside BEGIN IMMEDIATE: nothing it reads can change before it commits. */
  #appendLocked(streamId: string, events: readonly EventToAppend[], options: AppendOptions): AppendResult {
    const s = this.#statements;
    const actual = Number(s.lastRevision.get(streamId) ?? -1n);

    try {
      checkExpectedRevision(streamId, options.expectedRevision ?? "any", actual);
    } catch (error) {
      // When every event is already in this very stream, the call is a retry of an
      // append that succeeded, and it succeeds again whatever revision it expected.
      if (events.length > 0 && events.every((event) => s.streamOfId.get(event.id) === streamId)) {
        return { nextRevision: actual, position: this.#head() };
      }
      throw error;
    }

    // Ids the store already holds are skipped (ON CONFLICT (id) DO NOTHING) without
    // taking a revision: that is what makes a retried or re-drained batch harmless.
    // The conflict check rides on the insert's own index probe, so the hot path (the
    // gateway's group commit) pays one index lookup per event, not two.
    const recordedAt = this.#clock().getTime();
    let revision = actual;
    let position: Position | null = null;
    for (const event of events) {
      const metadata = event.metadata === undefined ? null : JSON.stringify(event.metadata);
      const result = s.insertEvent.run(
        event.id,
        streamId,
        revision + 1,
        event.type,
        event.version,
        serializedDataOf(event),
        metadata,
        recordedAt,
      );
      if (result.changes === 0) continue;
      revision += 1;
      position = result.lastInsertRowid as bigint;
    }
    if (position === null) return { nextRevision: actual, position: this.#head() };
    s.upsertStream.run(streamId, revision);
    return { nextRevision: revision, position };
  }

  readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return this.#run("readStream", () =>
      this.#statements.readStream.all(streamId, options.fromRevision ?? 0, options.limit ?? -1).map(toRecordedEvent),
    );
  }

  readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.#run("readAll", () => this.#readAll(options.from, options.limit, options.filter));
  }

  readLatest(count: number, filter?: EventFilter): Promise<RecordedEvent[]> {
    return this.#run("readLatest", () => this.#readPage("newest", 0n, count, filter).reverse());
  }

  headPosition(): Promise<Position> {
    return this.#run("headPosition", () => this.#statements.newestPosition.get() ?? START);
  }

  #readAll(from: Position, limit: number, filter: EventFilter | undefined): RecordedEvent[] {
    return this.#readPage("oldest", from, limit, filter);
  }

  /** `oldest`: the first `limit` matching events after `from`; `newest`: the last `limit`, newest first. */
  #readPage(end: "oldest" | "newest", from: Position, limit: number, filter: EventFilter | undefined): RecordedEvent[] {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    const types = filter?.eventTypes;
    const prefixes = filter?.streamPrefixes;
    if (types?.length === 0 || prefixes?.length === 0) return [];
    let after = from;
    if (end === "oldest" && types !== undefined) {
      // Most reads by type find nothing new (a follower of rare events among many), and
      // one covering-index probe says so in microseconds; the per-type merge below costs
      // about 70 µs a type even when every part of it is empty.
      const first = this.#firstOfTypes(types.length).get(...types, from);
      if (first === null || first === undefined) return [];
      after = first - 1n;
    }
    const parameters: Record<string, unknown> = { from: after, limit };
    types?.forEach((type, index) => (parameters[`t${index}`] = type));
    prefixes?.forEach((prefix, index) => (parameters[`p${index}`] = prefix));
    const statement = this.#pageStatement(end, types?.length ?? 0, prefixes?.length ?? 0);
    return (statement.all(parameters) as EventRow[]).map(toRecordedEvent);
  }

  /** The position of the first event of any of `typeCount` types after a position: `.get(...types, from)`. */
  #firstOfTypes(typeCount: number): Database.Statement<unknown[], bigint | null> {
    let statement = this.#firstOfTypesStatements.get(typeCount);
    if (!statement) {
      const placeholders = Array.from({ length: typeCount }, () => "?").join(", ");
      statement = this.#db.prepare<unknown[], bigint | null>(`SELECT min(position) FROM events WHERE type IN (${placeholders}) AND position > ?`).pluck().safeIntegers(true);
      this.#firstOfTypesStatements.set(typeCount, statement);
    }
    return statement;
  }

  #pageStatement(end: "oldest" | "newest", typeCount: number, prefixCount: number): Database.Statement {
    const key = `${end}:${typeCount}:${prefixCount}`;
    let statement = this.#pageStatements.get(key);
    if (!statement) {
      statement = this.#db.prepare(readPageSql(end, typeCount, prefixCount)).safeIntegers(true);
      this.#pageStatements.set(key, statement);
    }
    return statement;
  }

  subscribe(options: SubscribeOptions): Subscription {
    if (this.#closed) throw new Error("the SQLite event store is closed");
    const subscription = new CatchUpSubscription({
      from: options.from,
      readPage: (from) => {
        try {
          return this.#readAll(from, this.#pageSize, options.filter);
        } catch (error) {
          throw translateSqliteError(error, "subscription read");
        }
      },
      version: () => this.#watcher.version,
      waitForAppend: (seenVersion, signal) => this.#watcher.wait(seenVersion, signal),
      onClose: () => this.#subscriptions.delete(subscription),
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Deletes in chunks of a few thousand rows, each its own write transaction, yielding to
   * the event loop between them: appenders in other processes wait at most one chunk,
   * far below busy_timeout. Then hands the freed pages back to the file system
   * (incremental_vacuum, also in steps) and truncates the WAL, so the file shrinks.
   *
   * recorded_at follows position closely (one machine, one clock, stamped just before the
   * commit), so the walk stops at the first event that is too young; an out-of-order
   * older one after it is kept until a later run, which errs on the side of keeping.
   */
  async deleteEventsBefore(options: DeleteEventsBeforeOptions): Promise<number> {
    if (options.streamPrefixes.length === 0) return 0;
    const olderThan = options.olderThan.getTime();
    let deleted = 0;
    try {
      const prefixClause = options.streamPrefixes.map((_, i) => `substr(stream_id, 1, length(@p${i})) = @p${i}`).join(" OR ");
      const prefixParameters = Object.fromEntries(options.streamPrefixes.map((prefix, i) => [`p${i}`, prefix]));
      const scan = this.#db
        .prepare<[Record<string, unknown>], { position: bigint; recorded_at: bigint }>(
          "SELECT position, recorded_at FROM events WHERE position > @after AND position <= @max ORDER BY position LIMIT @limit",
        )
        .safeIntegers(true);
      const remove = this.#db.prepare(
        `DELETE FROM events WHERE position > @after AND position <= @upTo AND recorded_at < @olderThan AND (${prefixClause})`,
      );
      const deleteChunk = this.#db.transaction((after: Position): { deleted: number; next: Position | null } => {
        const rows = scan.all({ after, max: options.maxPosition, limit: retentionChunk });
        const tooYoung = rows.findIndex((row) => Number(row.recorded_at) >= olderThan);
        const last = tooYoung === -1 ? rows.at(-1) : rows[tooYoung - 1];
        if (last === undefined) return { deleted: 0, next: null };
        const { changes } = remove.run({ after, upTo: last.position, olderThan, ...prefixParameters });
        const done = tooYoung !== -1 || rows.length < retentionChunk;
        return { deleted: changes, next: done ? null : last.position };
      });

      let after: Position | null = 0n;
      while (after !== null) {
        this.#assertOpen();
        const chunk = deleteChunk.immediate(after);
        deleted += chunk.deleted;
        after = chunk.next;
        await yieldToEventLoop();
      }
      if (deleted > 0) await this.#reclaimSpace();
    } catch (error) {
      throw translateSqliteError(error, "retention");
    }
    return deleted;
  }

  async #reclaimSpace(): Promise<void> {
    const freePages = this.#db.prepare<[], number>("PRAGMA freelist_count").pluck();
    while (!this.#closed && freePages.get()! > 0) {
      this.#db.pragma(`incremental_vacuum(${vacuumChunkPages})`);
      await yieldToEventLoop();
    }
    // Moves the WAL's pages into the main file (which is only then cut short) and
    // empties the WAL. It waits up to busy_timeout for readers, and simply does less if
    // they are still there; the next checkpoint finishes the job.
    if (!this.#closed) this.#db.pragma("wal_checkpoint(TRUNCATE)");
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    this.#closed = true;
    this.#watcher.stop();
    this.#db.close();
  }

  #head(): Position {
    return this.#statements.head.get() ?? 0n;
  }

  #run<T>(operation: string, work: () => T): Promise<T> {
    try {
      this.#assertOpen();
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(translateSqliteError(error, operation));
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("the SQLite event store is closed");
  }
}

function prepareStatements(db: Database.Database) {
  return {
    lastRevision: db.prepare<[string], bigint>("SELECT last_revision FROM streams WHERE stream_id = ?").pluck().safeIntegers(true),
    streamOfId: db.prepare<[string], string>("SELECT stream_id FROM events WHERE id = ?").pluck(),
    insertEvent: db
      .prepare<[string, string, number, string, number, string, string | null, number]>(
        "INSERT INTO events (id, stream_id, revision, type, version, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
      )
      .safeIntegers(true),
    upsertStream: db.prepare<[string, number]>(
      "INSERT INTO streams (stream_id, last_revision) VALUES (?, ?) ON CONFLICT (stream_id) DO UPDATE SET last_revision = excluded.last_revision",
    ),
    // sqlite_sequence keeps the highest position ever handed out, even once retention has deleted it.
    head: db.prepare<[], bigint>("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck().safeIntegers(true),
    newestPosition: db.prepare<[], bigint | null>("SELECT max(position) FROM events").pluck().safeIntegers(true),
    readStream: db
      .prepare<[string, number, number], EventRow>(
        `SELECT ${eventColumns} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?`,
      )
      .safeIntegers(true),
  };
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    type: row.type,
    version: Number(row.version),
    data: JSON.parse(row.data) as unknown,
    metadata: row.metadata === null ? {} : (JSON.parse(row.metadata) as Record<string, unknown>),
    streamId: row.stream_id,
    revision: Number(row.revision),
    position: row.position,
    recordedAt: new Date(Number(row.recorded_at)),
  };
}
