import { ClickHouseLogLevel, createClient, type ClickHouseClient } from "@clickhouse/client";
import type { AnalyticsStore, RetentionResult, SqlDialect, WriteHooks, WriteResult } from "../analytics-store.js";
import { analyticsTables, RequestRow, type AnalyticsTables } from "../request-row.js";
import { sqlIdentifier, sqlLiteral } from "../sql/sql-literal.js";
import { loadClickHouseMigrations } from "./clickhouse-migrations.js";

export interface ClickHouseAnalyticsOptions {
  /** http(s)://host:8123 (CLICKHOUSE_URL). */
  url: string;
  database: string;
  username?: string;
  password?: string;
  requestTimeoutMs?: number;
  migrationsDir?: string;
}

const dialect: SqlDialect = {
  listAgg: (expression) => `groupArray(${expression})`,
  weightedBucketPercentiles: (bucket, weight) => `quantilesExactWeighted(0.5, 0.95, 0.99)(${bucket}, ${weight})`,
};

/**
 * The analytics store on ClickHouse.
 *
 * Exactly-once in effect, with at-least-once delivery and no transactions: each batch
 * is one INSERT into the raw table (the materialized view derives the rollup rows from
 * that same insert), then one INSERT of the checkpoint. A crash between the two, or an
 * insert that failed half-way from the client's point of view, leaves raw rows past the
 * stored checkpoint. So whenever the store cannot vouch for what is there (at start,
 * and after any failed write) it first reads the event ids past the stored checkpoint,
 * and drops those from the batches it is given until the checkpoint passes them. Only
 * the projector writes these tables, so that set is at most the batches in flight.
 */
export class ClickHouseAnalyticsStore implements AnalyticsStore {
  readonly engine = "clickhouse" as const;
  readonly dialect = dialect;
  readonly #client: ClickHouseClient;
  readonly #options: ClickHouseAnalyticsOptions;
  #verified = false;
  #recovered: { ids: Set<string>; upTo: bigint } | null = null;

  private constructor(
    options: ClickHouseAnalyticsOptions,
    readonly tables: AnalyticsTables,
  ) {
    this.#options = options;
    sqlIdentifier(options.database);
    this.#client = createClient({
      url: options.url,
      database: options.database,
      username: options.username ?? "default",
      password: options.password ?? "",
      request_timeout: options.requestTimeoutMs ?? 30_000,
      // 64-bit integers come back as text; every reader converts with Number()/BigInt().
      clickhouse_settings: {},
      // Failures reach the caller, which logs them through the service's redacting logger;
      // the client's own logger would print request details (and the URL) to the console.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  static open(options: ClickHouseAnalyticsOptions, suffix = ""): ClickHouseAnalyticsStore {
    return new ClickHouseAnalyticsStore(options, analyticsTables(suffix));
  }

  async migrate(): Promise<string[]> {
    const bootstrap = createClient({
      url: this.#options.url,
      username: this.#options.username ?? "default",
      password: this.#options.password ?? "",
      log: { level: ClickHouseLogLevel.OFF },
    });
    try {
      await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${sqlIdentifier(this.#options.database)}` });
    } finally {
      await bootstrap.close();
    }
    await this.#client.command({
      query: "CREATE TABLE IF NOT EXISTS schema_migrations (name String, tables String, applied_at_ms UInt64) ENGINE = MergeTree ORDER BY (tables, name)",
    });
    const tablesKey = this.tables.requests;
    const applied = new Set(
      (await this.query(`SELECT name FROM schema_migrations WHERE tables = ${sqlLiteral(tablesKey)}`)).map((row) => String(row.name)),
    );
    const done: string[] = [];
    for (const migration of await loadClickHouseMigrations(this.tables, this.#options.migrationsDir)) {
      if (applied.has(migration.name)) continue;
      // Every statement is CREATE … IF NOT EXISTS, or an ADD COLUMN skipped when its column is
      // there: a migration interrupted half-way is safe to run again.
      for (const statement of migration.statements) {
        if (await this.#columnAlreadyAdded(statement)) continue;
        await this.#client.command({ query: statement });
      }
      await this.#client.insert({ table: "schema_migrations", values: [{ name: migration.name, tables: tablesKey, applied_at_ms: Date.now() }], format: "JSONEachRow" });
      done.push(migration.name);
    }
    return done;
  }

  /** `ALTER TABLE t ADD COLUMN c …` whose column exists already; 18.16 has no ADD COLUMN IF NOT EXISTS. */
  async #columnAlreadyAdded(statement: string): Promise<boolean> {
    const match = /^ALTER TABLE ([A-Za-z0-9_]+) ADD COLUMN ([A-Za-z0-9_]+) /i.exec(statement);
    if (match === null) return false;
    const rows = await this.query(
      `SELECT count() AS n FROM system.columns WHERE database = ${sqlLiteral(this.#options.database)} AND table = ${sqlLiteral(match[1] as string)} AND name = ${sqlLiteral(match[2] as string)}`,
    );
    return Number(rows[0]?.n ?? 0) > 0;
  }

  async query(sql: string): Promise<Record<string, unknown>[]> {
    const result = await this.#client.query({ query: sql, format: "JSONEachRow" });
    return result.json<Record<string, unknown>>();
  }

  async loadCheckpoint(name: string): Promise<bigint | null> {
        // Aliases never reuse a column's name: ClickHouse would resolve the column to the alias.
    const rows = await this.query(`SELECT max(position) AS last_position, count() AS n FROM ${this.tables.checkpoints} WHERE name = ${sqlLiteral(name)}`);
    const row = rows[0];
    if (row === undefined || Number(row.n) === 0) return null;
    return BigInt(String(row.last_position));
  }

  async writeBatch(name: string, rows: readonly RequestRow[], checkpoint: bigint, hooks?: WriteHooks): Promise<WriteResult> {
    try {
      if (!this.#verified) {
        const stored = (await this.loadCheckpoint(name)) ?? 0n;
        const present = await this.query(`SELECT event_id, position FROM ${this.tables.requests} WHERE position > ${sqlLiteral(stored)}`);
        this.#recovered =
          present.length === 0
            ? null
            : { ids: new Set(present.map((row) => String(row.event_id))), upTo: present.reduce((max, row) => (BigInt(String(row.position)) > max ? BigInt(String(row.position)) : max), 0n) };
        this.#verified = true;
      }
      const recovered = this.#recovered;
      const fresh = recovered === null ? rows : rows.filter((row) => !recovered.ids.has(row.event_id));
      for (const row of fresh) RequestRow.parse(row);
      // Storage first, then the checkpoint: a crash in between re-delivers the batch,
      // and the ids read back above keep its rows from being inserted twice.
      if (fresh.length > 0) {
        await this.#client.insert({ table: this.tables.requests, values: fresh.map(toJsonRow), format: "JSONEachRow" });
      }
      await hooks?.beforeCheckpoint?.({ rows: fresh.length });
      await this.#client.insert({
        table: this.tables.checkpoints,
        values: [{ name, position: Number(checkpoint), updated_at_ms: Date.now() }],
        format: "JSONEachRow",
      });
      if (recovered !== null && checkpoint >= recovered.upTo) this.#recovered = null;
      return { inserted: fresh.length, skipped: rows.length - fresh.length };
    } catch (error) {
      // The insert may or may not have landed: read back what is there before the next batch.
      this.#verified = false;
      throw error;
    }
  }

  /**
   * Drops whole day partitions older than `olderThan` (18.16 has no TTL). The day that
   * contains `olderThan` is kept, so raw rows live between `days` and `days + 1` days.
   */
  async applyRetention(olderThan: Date): Promise<RetentionResult> {
    const cutoff = Number(`${olderThan.getUTCFullYear()}${String(olderThan.getUTCMonth() + 1).padStart(2, "0")}${String(olderThan.getUTCDate()).padStart(2, "0")}`);
    const partitions = await this.query(
      `SELECT DISTINCT partition FROM system.parts WHERE database = ${sqlLiteral(this.#options.database)} AND table = ${sqlLiteral(this.tables.requests)} AND active`,
    );
    let removed = 0;
    for (const row of partitions) {
      const partition = Number(String(row.partition).replace(/'/g, ""));
      if (Number.isSafeInteger(partition) && partition < cutoff) {
        await this.#client.command({ query: `ALTER TABLE ${this.tables.requests} DROP PARTITION ${sqlLiteral(partition)}` });
        removed += 1;
      }
    }
    return { removed, olderThan };
  }

  async createFreshTables(suffix: string): Promise<ClickHouseAnalyticsStore> {
    const next = ClickHouseAnalyticsStore.open(this.#options, suffix);
    for (const table of [next.tables.rollupView, next.tables.requests, next.tables.rollup, next.tables.checkpoints]) {
      await this.#client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    }
    await this.#client.command({ query: `ALTER TABLE schema_migrations DELETE WHERE tables = ${sqlLiteral(next.tables.requests)}` }).catch(() => undefined);
    for (const migration of await loadClickHouseMigrations(next.tables, this.#options.migrationsDir)) {
      for (const statement of migration.statements) await this.#client.command({ query: statement });
    }
    return next;
  }

  /**
   * The view that feeds the rollup is bound to its tables, so it is dropped and made
   * again around the renames. No batch is written meanwhile: the rebuild is the writer.
   */
  async switchTo(suffix: string): Promise<void> {
    const next = analyticsTables(suffix);
    const live = this.tables;
    const old = analyticsTables("_old");
    for (const table of [next.rollupView, live.rollupView, old.requests, old.rollup, old.checkpoints]) {
      await this.#client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    }
    await this.#client.command({
      query:
        `RENAME TABLE ${live.requests} TO ${old.requests}, ${next.requests} TO ${live.requests}, ` +
        `${live.rollup} TO ${old.rollup}, ${next.rollup} TO ${live.rollup}, ` +
        `${live.checkpoints} TO ${old.checkpoints}, ${next.checkpoints} TO ${live.checkpoints}`,
    });
    const migrations = await loadClickHouseMigrations(live, this.#options.migrationsDir);
    for (const statement of migrations.flatMap((migration) => migration.statements)) {
      if (statement.includes("MATERIALIZED VIEW")) await this.#client.command({ query: statement });
    }
    for (const table of [old.requests, old.rollup, old.checkpoints]) await this.#client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    this.#verified = false;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

function toJsonRow(row: RequestRow): Record<string, unknown> {
  return { ...row, position: Number(row.position) };
}
