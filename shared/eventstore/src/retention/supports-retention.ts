import type { Position } from "../event-store.js";

export interface DeleteEventsBeforeOptions {
  /** Only events of streams that start with one of these prefixes are removed. An empty list removes nothing. */
  streamPrefixes: readonly string[];
  /** Only events recorded strictly before this instant are removed. */
  olderThan: Date;
  /** Inclusive: only events at or before this position are removed. */
  maxPosition: Position;
}

/**
 * An event store that can forget old events. Each adapter does it its own way (SQLite
 * deletes rows and reclaims the space; EventStoreDB truncates streams through their
 * metadata), so `applyRetention` decides *what* may go and the adapter decides *how*.
 *
 * Removing events never rewinds a stream: its next append still gets the revision after
 * the last one it ever had, and positions are never reused.
 */
export interface SupportsRetention {
  /** Removes every event that matches all three criteria; resolves to how many were removed. */
  deleteEventsBefore(options: DeleteEventsBeforeOptions): Promise<number>;
}

export function supportsRetention(store: object): store is SupportsRetention {
  return typeof (store as Partial<SupportsRetention>).deleteEventsBefore === "function";
}
