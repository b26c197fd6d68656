import type { RequestEvent } from "@tollgate/events";

/**
 * The gateway's side of the event log. `record` is on the hot path: it never awaits,
 * never throws and never blocks on the store. Events are group-committed off the
 * event loop; while the store is down they go to a local spool and drain later.
 */
export interface EventRecorder {
  record(event: RequestEvent): void;
  /** Resolves once every event recorded so far is durable in the store or in the spool. */
  flush(): Promise<void>;
  /** Flushes, drains what it can, and releases the store. Idempotent. */
  close(): Promise<void>;
}
