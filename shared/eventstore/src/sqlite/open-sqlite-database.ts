import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { migrateSqliteSchema } from "./sqlite-schema.js";
import { translateSqliteError } from "./translate-sqlite-error.js";

export interface SqliteDatabaseOptions {
  /** Path of the SQLite file; its folder is created. */
  file: string;
  /**
   * normal: every committed append survives the death of the process (kill -9); an OS
   * crash or power loss may take the last transactions. full: also survives those, at
   * the cost of an fsync per commit.
   */
  synchronous: "normal" | "full";
  /** How long a statement waits for another process's lock before failing with StoreUnavailableError. */
  busyTimeoutMs: number;
}

/**
 * Opens a connection to the event store file, with the settings every connection to it
 * must share, and migrates the schema. Use it for a projector whose sink lives in the
 * same file (see `SqliteCheckpointStore.storeInTransaction`).
 */
export function openSqliteDatabase(options: SqliteDatabaseOptions): Database.Database {
  let db: Database.Database | undefined;
  try {
    mkdirSync(dirname(options.file), { recursive: true });
    db = new Database(options.file, { timeout: options.busyTimeoutMs });
    // auto_vacuum only takes effect if it is set before the first table is created
    // (and is a no-op afterwards); it lets retention hand freed pages back to the disk.
    db.pragma("auto_vacuum = INCREMENTAL");
    // WAL: readers never block the writer and the writer never blocks readers, so the
    // gateway, the control plane and every projector can share the file.
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`);
    // After a checkpoint the WAL is cut back to this size instead of keeping its peak.
    db.pragma("journal_size_limit = 67108864");
    migrateSqliteSchema(db);
    return db;
  } catch (error) {
    db?.close();
    throw translateSqliteError(error, `open ${options.file}`);
  }
}
