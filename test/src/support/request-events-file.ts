import Database from "better-sqlite3";

export interface StoredRequestEvent {
  id: string;
  type: string;
  data: { requestId: string; status: number; routeId: string | null; durationMs: number; upstreamLatencyMs?: number };
}

/** Reads request events straight from a SQLite event log file, read-only, to check what landed. */
export function readRequestEvents(file: string): StoredRequestEvent[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare("SELECT id, type, data FROM events WHERE stream_id LIKE 'requests-%' ORDER BY position")
      .all() as { id: string; type: string; data: string }[];
    return rows.map((row) => ({ id: row.id, type: row.type, data: JSON.parse(row.data) as StoredRequestEvent["data"] }));
  } finally {
    db.close();
  }
}

export function countRequestEvents(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM events WHERE stream_id LIKE 'requests-%'").get() as { n: number }).n;
  } catch {
    return 0;
  } finally {
    db.close();
  }
}
