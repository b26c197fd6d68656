import { StoreUnavailableError } from "../event-store.js";

/**
 * SQLite result codes that mean "not now" rather than "never": a lock held past
 * busy_timeout by another process, or the disk failing or full. They become
 * `StoreUnavailableError` so that callers (the gateway's spool, a projector's retry
 * loop) can treat every adapter's outages alike. Anything else (a constraint, bad SQL)
 * is a bug and passes through unchanged.
 */
const unavailableCodes = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|NOLFS)(_|$)/;

export function translateSqliteError(error: unknown, operation: string): Error {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && unavailableCodes.test(code)) {
    const message = error instanceof Error ? error.message : String(error);
    return new StoreUnavailableError(`SQLite event store: ${operation} failed (${code}): ${message}`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
