import type { AnalyticsTables, RequestRow } from "./request-row.js";

export type AnalyticsEngine = "clickhouse" | "sqlite";

/** What differs between the engines in query text; everything else is shared SQL. */
export interface SqlDialect {
  /** An aggregate that collects `expression` over the group into a list (decoded by `decodeList`). */
  listAgg(expression: string): string;
  /**
   * When the engine can read nearest-rank percentiles of the latency buckets itself
   * (ClickHouse's quantilesExactWeighted uses the same rank, ceil(p · n)), the aggregate
   * that gives [p50, p95, p99] as bucket numbers. Otherwise the buckets are sent over and
   * read in JS (SQLite). Both give the same answer.
   */
  weightedBucketPercentiles: ((bucket: string, weight: string) => string) | null;
}

export interface WriteResult {
  /** Rows inserted. */
  inserted: number;
  /** Rows whose event id was already there (a re-delivered batch): not inserted again. */
  skipped: number;
}

export interface WriteHooks {
  beforeCheckpoint?: (written: { rows: number }) => Promise<void>;
}

export interface RetentionResult {
  /** Partitions dropped (ClickHouse) or rows deleted (SQLite). */
  removed: number;
  olderThan: Date;
}

/** Read access: what the query module needs. */
export interface AnalyticsReader {
  readonly engine: AnalyticsEngine;
  readonly dialect: SqlDialect;
  readonly tables: AnalyticsTables;
  /** Runs one SELECT whose values all went through `sqlLiteral`. */
  query(sql: string): Promise<Record<string, unknown>[]>;
}

/**
 * One analytics store: ClickHouse or an embedded SQLite file, with the same tables and
 * the same query text. Writes are exactly-once in effect by event id (see each adapter).
 */
export interface AnalyticsStore extends AnalyticsReader {
  /** Applies pending migrations; returns the names of those it applied. */
  migrate(): Promise<string[]>;
  loadCheckpoint(name: string): Promise<bigint | null>;
  /**
   * Inserts the rows of one batch and then records `checkpoint` under `name`.
   * `beforeCheckpoint` runs between the two (crash tests pause there).
   */
  writeBatch(name: string, rows: readonly RequestRow[], checkpoint: bigint, hooks?: WriteHooks): Promise<WriteResult>;
  /** Removes raw rows older than `olderThan` (whole days on ClickHouse). Rollups are kept. */
  applyRetention(olderThan: Date): Promise<RetentionResult>;
  /** Creates empty tables with `suffix` (the target of a rebuild), dropping any left from an earlier attempt. */
  createFreshTables(suffix: string): Promise<AnalyticsStore>;
  /** Replaces the live tables with those of `suffix` (the end of a rebuild), and drops the old ones. */
  switchTo(suffix: string): Promise<void>;
  close(): Promise<void>;
}

/** A list from `listAgg`: an array (ClickHouse) or comma-separated text (SQLite). */
export function decodeList(value: unknown): number[] {
  if (Array.isArray(value)) return value.map(Number);
  if (typeof value === "string") return value === "" ? [] : value.split(",").map(Number);
  if (typeof value === "number") return [value];
  return [];
}
