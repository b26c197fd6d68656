import type { CacheEntry } from "./cache-entry.js";

/** Which entries a purge removes: a route's, those whose key starts with a prefix, or both conditions. */
export interface PurgeFilter {
  readonly routeId?: string | undefined;
  readonly keyPrefix?: string | undefined;
}

/**
 * Where cached responses live, by route and key. The memory store answers `get`
 * synchronously, so a hit in memory never waits on a promise; a shared store answers
 * with a promise. `set` never throws and is never awaited: a response that could not be
 * stored is simply fetched again next time.
 */
export interface CacheStore {
  get(routeId: string, key: string): CacheEntry | undefined | Promise<CacheEntry | undefined>;
  /** Stores the entry, to be kept until `retainUntil` (epoch ms, the gateway's clock) at the latest. */
  set(routeId: string, key: string, entry: CacheEntry, retainUntil: number): void;
  /** Removes the matching entries; resolves with how many were removed. */
  purge(filter: PurgeFilter): Promise<number>;
  close(): Promise<void>;
}

/** The store's own key: route ids cannot contain "|" (they are identifiers), so the split is unambiguous. */
export function storeKey(routeId: string, key: string): string {
  return `${routeId}|${key}`;
}

/** The store-key prefix a purge matches, or "" for every entry. */
export function purgePrefix(filter: PurgeFilter): string {
  if (filter.routeId === undefined) return "";
  return `${filter.routeId}|${filter.keyPrefix ?? ""}`;
}

/** Whether an entry's store key matches the filter. */
export function matchesPurge(storeKeyText: string, filter: PurgeFilter): boolean {
  if (filter.routeId !== undefined) return storeKeyText.startsWith(purgePrefix(filter));
  if (filter.keyPrefix === undefined) return true;
  const bar = storeKeyText.indexOf("|");
  return storeKeyText.startsWith(filter.keyPrefix, bar + 1);
}
