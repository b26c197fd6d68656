import type Database from "better-sqlite3";
import type { CheckpointStore, Position } from "../event-store.js";
import { openSqliteDatabase, type SqliteDatabaseOptions } from "./open-sqlite-database.js";
import { translateSqliteError } from "./translate-sqlite-error.js";

const upsertSql =
  "INSERT INTO checkpoints (name, position, updated_at) VALUES (?, ?, ?) " +
  "ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at";

const inTransactionStatements = new WeakMap<Database.Database, Database.Statement<[string, string, number]>>();

/**
 * Projector checkpoints in the event store's own file (table `checkpoints`). A projector
 * is registered by its first `store`, and from then on retention keeps every event it
 * has not passed.
 */
export class SqliteCheckpointStore implements CheckpointStore {
  readonly #db: Database.Database;
  #ownsDb = false;
  readonly #clock: () => Date;
  readonly #select: Database.Statement<[string], string>;
  readonly #upsert: Database.Statement<[string, string, number]>;
  readonly #selectAll: Database.Statement<[], { name: string; position: string }>;

  /** Over an open connection to the event store file (its schema migrated); the caller closes it. */
  constructor(db: Database.Database, options: { clock?: () => Date } = {}) {
    this.#db = db;
    this.#clock = options.clock ?? (() => new Date());
    this.#select = db.prepare<[string], string>("SELECT position FROM checkpoints WHERE name = ?").pluck();
    this.#upsert = db.prepare<[string, string, number]>(upsertSql);
    this.#selectAll = db.prepare<[], { name: string; position: string }>("SELECT name, position FROM checkpoints ORDER BY name");
  }

  /** Opens its own connection to the file (creating it if need be); `close()` releases it. */
  static open(options: SqliteDatabaseOptions & { clock?: () => Date }): SqliteCheckpointStore {
    const db = openSqliteDatabase(options);
    const store = new SqliteCheckpointStore(db, options);
    store.#ownsDb = true;
    return store;
  }

  /**
   * Stores a checkpoint inside the caller's open transaction on `db`, for a projector
   * whose sink is this same SQLite file: its writes and its checkpoint then commit or roll
   * back together, so a crash can never leave the sink ahead of (or behind) the
   * checkpoint, and replaying from the checkpoint applies each event exactly once.
   *
   * Synchronous on purpose: it must run inside a better-sqlite3 transaction function,
   * which cannot await. `db` is any connection to the event store file, e.g. one from
   * `openSqliteDatabase`. Throws when no transaction is open, since then it would commit
   * on its own and the guarantee would be lost.
   *
   * ```ts
   * const db = openSqliteDatabase(options);
   * const applyBatch = db.transaction((events: RecordedEvent[]) => {
   *   for (const event of events) writeToSink(db, event);
   *   SqliteCheckpointStore.storeInTransaction(db, "usage-view", events.at(-1)!.position);
   * });
   * applyBatch.immediate(batch);
   * ```
   */
  static storeInTransaction(db: Database.Database, name: string, position: Position, now: Date = new Date()): void {
    if (!db.inTransaction) {
      throw new Error("storeInTransaction must run inside a transaction on the same connection as the sink's writes");
    }
    let upsert = inTransactionStatements.get(db);
    if (!upsert) {
      upsert = db.prepare<[string, string, number]>(upsertSql);
      inTransactionStatements.set(db, upsert);
    }
    upsert.run(name, position.toString(), now.getTime());
  }

  load(name: string): Promise<Position | null> {
    return this.#run("load checkpoint", () => {
      const position = this.#select.get(name);
      return position === undefined ? null : BigInt(position);
    });
  }

  store(name: string, position: Position): Promise<void> {
    return this.#run("store checkpoint", () => {
      this.#upsert.run(name, position.toString(), this.#clock().getTime());
    });
  }

  list(): Promise<Map<string, Position>> {
    return this.#run("list checkpoints", () => new Map(this.#selectAll.all().map((row) => [row.name, BigInt(row.position)])));
  }

  /** Closes the connection if `open` made it; a store built over a caller's connection leaves it open. */
  close(): Promise<void> {
    if (this.#ownsDb && this.#db.open) this.#db.close();
    return Promise.resolve();
  }

  #run<T>(operation: string, work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(translateSqliteError(error, operation));
    }
  }
}
