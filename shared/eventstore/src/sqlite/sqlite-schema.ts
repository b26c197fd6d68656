import type Database from "better-sqlite3";

/** Kept in `PRAGMA user_version`. Every later change is a new step in `migrations`. */
export const SQLITE_SCHEMA_VERSION = 1;

/**
 * Schema steps; step i takes the file from user_version i to i + 1.
 *
 * - events: the log. `position` is AUTOINCREMENT so a position is never reused, not even
 *   after retention has deleted the newest rows. `id` is unique across the log (that is
 *   what makes appends idempotent). (type, position) lets a subscriber that wants a rare
 *   event type (the gateway following control-plane events among millions of request
 *   events) jump straight to it instead of scanning the log.
 * - streams: each stream's last revision, kept apart from the events so that retention
 *   can delete a stream's old events without its next append reusing a revision.
 * - checkpoints: projector positions, as decimal text so the full 64-bit range survives.
 */
const migrations: readonly string[] = [
  `
  CREATE TABLE events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    stream_id   TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    data        TEXT    NOT NULL,
    metadata    TEXT,
    recorded_at INTEGER NOT NULL,
    UNIQUE (stream_id, revision)
  ) STRICT;
  CREATE INDEX events_by_type ON events (type, position);
  CREATE TABLE streams (
    stream_id     TEXT    PRIMARY KEY,
    last_revision INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE checkpoints (
    name       TEXT    PRIMARY KEY,
    position   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  `,
];

/**
 * Brings the file up to `SQLITE_SCHEMA_VERSION`. Several processes may open a fresh file
 * at once, so the version is read again inside a write transaction: exactly one of them
 * migrates, and the others find the work done.
 */
export function migrateSqliteSchema(db: Database.Database): void {
  if (readUserVersion(db) === SQLITE_SCHEMA_VERSION) return;
  db.transaction(() => {
    const current = readUserVersion(db);
    if (current > SQLITE_SCHEMA_VERSION) {
      throw new Error(
        `event store file has schema version ${current}; this build knows up to ${SQLITE_SCHEMA_VERSION}. Upgrade Tollgate.`,
      );
    }
    for (let version = current; version < SQLITE_SCHEMA_VERSION; version++) db.exec(migrations[version]!);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}

function readUserVersion(db: Database.Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}
