import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { AnalyticsStore, RetentionResult, SqlDialect, WriteHooks, WriteResult } from "../analytics-store.js";
import { analyticsTables, RequestRow, requestRowColumns, type AnalyticsTables } from "../request-row.js";
import { sqlIdentifier } from "../sql/sql-literal.js";

export interface SqliteAnalyticsOptions {
  /** The analytics file (./data/analytics.db by default): not the event log's file. */
  file: string;
  synchronous?: "normal" | "full";
  busyTimeoutMs?: number;
  readonly?: boolean;
}

const dialect: SqlDialect = { listAgg: (expression) => `group_concat(${expression})`, weightedBucketPercentiles: null };

/** The same tables as infra/clickhouse/migrations, in SQLite's types; the rollup is kept by the writer instead of a view. */
function migrations(tables: AnalyticsTables): { name: string; sql: string }[] {
  return [
    {
      name: "0001_requests",
      sql: `
        CREATE TABLE IF NOT EXISTS ${tables.requests} (
          event_id TEXT PRIMARY KEY, position INTEGER NOT NULL, event_type TEXT NOT NULL, request_id TEXT NOT NULL,
          gateway_id TEXT NOT NULL, started_at_ms INTEGER NOT NULL, minute INTEGER NOT NULL, route_id TEXT NOT NULL,
          method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL, status_class INTEGER NOT NULL,
          consumer_id TEXT NOT NULL, plan_id TEXT NOT NULL, subscription_id TEXT NOT NULL, duration_ms REAL NOT NULL,
          latency_bucket INTEGER NOT NULL, bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, outcome TEXT NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS ${tables.requests}_by_minute ON ${tables.requests} (minute, started_at_ms);
        CREATE INDEX IF NOT EXISTS ${tables.requests}_by_consumer ON ${tables.requests} (consumer_id, minute);
        CREATE TABLE IF NOT EXISTS ${tables.checkpoints} (name TEXT PRIMARY KEY, position INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL) STRICT;`,
    },
    {
      name: "0002_requests_per_minute",
      sql: `
        CREATE TABLE IF NOT EXISTS ${tables.rollup} (
          minute INTEGER NOT NULL, route_id TEXT NOT NULL, consumer_id TEXT NOT NULL, plan_id TEXT NOT NULL,
          status_class INTEGER NOT NULL, latency_bucket INTEGER NOT NULL,
          requests INTEGER NOT NULL, duration_ms_sum REAL NOT NULL, bytes_out_sum INTEGER NOT NULL,
          PRIMARY KEY (minute, route_id, consumer_id, plan_id, status_class, latency_bucket)
        ) STRICT, WITHOUT ROWID;`,
    },
    {
      name: "0003_graphql_operation",
      sql: `
        ALTER TABLE ${tables.requests} ADD COLUMN graphql_operation TEXT NOT NULL DEFAULT '';
        ALTER TABLE ${tables.requests} ADD COLUMN graphql_operation_type TEXT NOT NULL DEFAULT '';`,
    },
  ];
}

/**
 * The analytics store in an embedded SQLite file (the default without CLICKHOUSE_URL).
 *
 * Exactly-once in effect: a batch's raw rows, the rollup increments of the rows that
 * were new, and the checkpoint are one transaction. `INSERT OR IGNORE` on the event id
 * skips a row already there, and the rollup is incremented only for a row actually
 * inserted, so even a batch delivered twice counts once.
 */
export class SqliteAnalyticsStore implements AnalyticsStore {
  readonly engine = "sqlite" as const;
  readonly dialect = dialect;
  readonly #db: Database.Database;
  readonly #options: SqliteAnalyticsOptions;
  #statements: ReturnType<typeof prepare> | undefined;

  private constructor(
    db: Database.Database,
    options: SqliteAnalyticsOptions,
    readonly tables: AnalyticsTables,
  ) {
    this.#db = db;
    this.#options = options;
  }

  static open(options: SqliteAnalyticsOptions, suffix = ""): SqliteAnalyticsStore {
    if (!options.readonly) mkdirSync(dirname(options.file), { recursive: true });
    const db = new Database(options.file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5_000)}`);
    if (!options.readonly) {
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`);
    }
    return new SqliteAnalyticsStore(db, options, analyticsTables(suffix));
  }

  async migrate(): Promise<string[]> {
    this.#db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT NOT NULL, tables TEXT NOT NULL, applied_at_ms INTEGER NOT NULL, PRIMARY KEY (tables, name)) STRICT");
    const applied = new Set(
      this.#db
        .prepare<[string], string>("SELECT name FROM schema_migrations WHERE tables = ?")
        .pluck()
        .all(this.tables.requests),
    );
    const done: string[] = [];
    for (const migration of migrations(this.tables)) {
      if (applied.has(migration.name)) continue;
      this.#db.transaction(() => {
        this.#db.exec(migration.sql);
        this.#db.prepare("INSERT OR IGNORE INTO schema_migrations (name, tables, applied_at_ms) VALUES (?, ?, ?)").run(migration.name, this.tables.requests, Date.now());
      })();
      done.push(migration.name);
    }
    this.#statements = undefined;
    return Promise.resolve(done);
  }

  query(sql: string): Promise<Record<string, unknown>[]> {
    return Promise.resolve(this.#db.prepare(sql).all() as Record<string, unknown>[]);
  }

  loadCheckpoint(name: string): Promise<bigint | null> {
    const row = this.#db.prepare<[string], { position: number | bigint }>(`SELECT position FROM ${this.tables.checkpoints} WHERE name = ?`).safeIntegers(true).get(name);
    return Promise.resolve(row === undefined ? null : BigInt(row.position));
  }

  /**
   * BEGIN IMMEDIATE … COMMIT by hand rather than db.transaction(), so that a crash test
   * can hold the transaction open (`beforeCheckpoint`) and kill the process inside it.
   * Nothing else awaits between BEGIN and COMMIT.
   */
  async writeBatch(name: string, rows: readonly RequestRow[], checkpoint: bigint, hooks?: WriteHooks): Promise<WriteResult> {
    for (const row of rows) RequestRow.parse(row);
    const statements = (this.#statements ??= prepare(this.#db, this.tables));
    const db = this.#db;
    db.exec("BEGIN IMMEDIATE");
    try {
      let inserted = 0;
      for (const row of rows) {
        if (statements.insertRaw.run(row).changes === 0) continue;
        inserted += 1;
        statements.addToRollup.run(row);
      }
      // The checkpoint in the same transaction as the rows: together or not at all.
      statements.storeCheckpoint.run(name, checkpoint, Date.now());
      await hooks?.beforeCheckpoint?.({ rows: inserted });
      db.exec("COMMIT");
      return { inserted, skipped: rows.length - inserted };
    } catch (error) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Deletes raw rows that started before `olderThan`, in chunks; rollups are kept. */
  applyRetention(olderThan: Date): Promise<RetentionResult> {
    const cutoff = Math.floor(olderThan.getTime() / 60_000) * 60;
    let removed = 0;
    const chunk = this.#db.prepare(`DELETE FROM ${this.tables.requests} WHERE event_id IN (SELECT event_id FROM ${this.tables.requests} WHERE minute < ? LIMIT 5000)`);
    for (;;) {
      const changes = chunk.run(cutoff).changes;
      removed += changes;
      if (changes < 5_000) break;
    }
    return Promise.resolve({ removed, olderThan });
  }

  async createFreshTables(suffix: string): Promise<SqliteAnalyticsStore> {
    const next = new SqliteAnalyticsStore(this.#db, this.#options, analyticsTables(suffix));
    this.#db.transaction(() => {
      for (const table of [next.tables.requests, next.tables.rollup, next.tables.checkpoints]) this.#db.exec(`DROP TABLE IF EXISTS ${sqlIdentifier(table)}`);
      this.#db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT NOT NULL, tables TEXT NOT NULL, applied_at_ms INTEGER NOT NULL, PRIMARY KEY (tables, name)) STRICT");
      this.#db.prepare("DELETE FROM schema_migrations WHERE tables = ?").run(next.tables.requests);
    })();
    await next.migrate();
    return next;
  }

  /** One transaction: readers see the old tables or the new ones, never a mix. */
  switchTo(suffix: string): Promise<void> {
    const next = analyticsTables(suffix);
    const live = this.tables;
    this.#db.transaction(() => {
      for (const key of ["requests", "rollup", "checkpoints"] as const) {
        this.#db.exec(`DROP TABLE IF EXISTS ${sqlIdentifier(live[key])}`);
        this.#db.exec(`ALTER TABLE ${sqlIdentifier(next[key])} RENAME TO ${sqlIdentifier(live[key])}`);
      }
      this.#db.prepare("DELETE FROM schema_migrations WHERE tables = ?").run(live.requests);
      this.#db.prepare("UPDATE schema_migrations SET tables = ? WHERE tables = ?").run(live.requests, next.requests);
    })();
    this.#statements = undefined;
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.#db.open) this.#db.close();
    return Promise.resolve();
  }
}

function prepare(db: Database.Database, tables: AnalyticsTables) {
  return {
    insertRaw: db.prepare<[RequestRow]>(
      `INSERT OR IGNORE INTO ${tables.requests} (${requestRowColumns.join(", ")}) VALUES (${requestRowColumns.map((column) => `@${column}`).join(", ")})`,
    ),
    addToRollup: db.prepare<[RequestRow]>(
      `INSERT INTO ${tables.rollup} (minute, route_id, consumer_id, plan_id, status_class, latency_bucket, requests, duration_ms_sum, bytes_out_sum) ` +
        "VALUES (@minute, @route_id, @consumer_id, @plan_id, @status_class, @latency_bucket, 1, @duration_ms, @bytes_out) " +
        "ON CONFLICT (minute, route_id, consumer_id, plan_id, status_class, latency_bucket) DO UPDATE SET " +
        "requests = requests + 1, duration_ms_sum = duration_ms_sum + excluded.duration_ms_sum, bytes_out_sum = bytes_out_sum + excluded.bytes_out_sum",
    ),
    storeCheckpoint: db.prepare<[string, bigint, number]>(
      `INSERT INTO ${tables.checkpoints} (name, position, updated_at_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at_ms = excluded.updated_at_ms`,
    ),
  };
}
