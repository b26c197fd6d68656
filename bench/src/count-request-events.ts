import { createRequire } from "node:module";
import { join } from "node:path";
import { requestEventTypes, streams } from "@tollgate/events";

/** The little of better-sqlite3 used here. */
interface SqliteDatabase {
  prepare(sql: string): { all(...params: unknown[]): unknown[] };
  close(): void;
}
type SqliteConstructor = new (file: string, options: { readonly: boolean; fileMustExist: boolean }) => SqliteDatabase;

export interface RequestEventCount {
  total: number;
  byType: Record<string, number>;
}

/**
 * Counts a gateway's request events in an event-store SQLite file (table `events`, see
 * shared/eventstore/src/sqlite/sqlite-schema.ts). better-sqlite3 is loaded from the
 * event store package that wrote the file, so the bench adds no dependency of its own.
 */
export function countRequestEvents(file: string, gatewayId: string, repoRoot: string): RequestEventCount {
  const require = createRequire(join(repoRoot, "shared", "eventstore", "package.json"));
  const Database = require("better-sqlite3") as SqliteConstructor;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const placeholders = requestEventTypes.map(() => "?").join(", ");
    const rows = db
      .prepare(`SELECT type, count(*) AS n FROM events WHERE stream_id = ? AND type IN (${placeholders}) GROUP BY type`)
      .all(streams.requests(gatewayId), ...requestEventTypes) as { type: string; n: number }[];
    const byType = Object.fromEntries(rows.map((row) => [row.type, row.n]));
    return { total: rows.reduce((sum, row) => sum + row.n, 0), byType };
  } finally {
    db.close();
  }
}
