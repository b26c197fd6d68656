import { LRUCache } from "lru-cache";
import type { Clock } from "../clock.js";
import { entrySize, type CacheEntry } from "./cache-entry.js";
import { matchesPurge, storeKey, type CacheStore, type PurgeFilter } from "./cache-store.js";

interface Stored {
  readonly entry: CacheEntry;
  readonly retainUntil: number;
  readonly size: number;
}

/**
 * A size-bounded LRU (lru-cache) in this gateway's memory: `maxBytes` bounds bodies,
 * headers and keys together, and the least recently used entries are evicted first. An
 * entry larger than the whole store is not stored. Expiry is checked on read against the
 * gateway's clock (lru-cache's own TTL reads performance.now(), which tests cannot
 * steer), and expired entries are dropped then; until read they only cost their space,
 * which the LRU bound already caps.
 */
export class MemoryCacheStore implements CacheStore {
  readonly #lru: LRUCache<string, Stored>;

  constructor(
    maxBytes: number,
    private readonly clock: Pick<Clock, "epochMs">,
  ) {
    this.#lru = new LRUCache<string, Stored>({ maxSize: maxBytes, maxEntrySize: maxBytes, sizeCalculation: (stored) => stored.size });
  }

  get(routeId: string, key: string): CacheEntry | undefined {
    const id = storeKey(routeId, key);
    const stored = this.#lru.get(id);
    if (stored === undefined) return undefined;
    if (stored.retainUntil <= this.clock.epochMs()) {
      this.#lru.delete(id);
      return undefined;
    }
    return stored.entry;
  }

  set(routeId: string, key: string, entry: CacheEntry, retainUntil: number): void {
    const id = storeKey(routeId, key);
    this.#lru.set(id, { entry, retainUntil, size: entrySize(entry, id) });
  }

  purge(filter: PurgeFilter): Promise<number> {
    let removed = 0;
    for (const id of [...this.#lru.keys()]) {
      if (matchesPurge(id, filter) && this.#lru.delete(id)) removed++;
    }
    return Promise.resolve(removed);
  }

  /** Bytes held, as counted against maxBytes. */
  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  get entries(): number {
    return this.#lru.size;
  }

  close(): Promise<void> {
    this.#lru.clear();
    return Promise.resolve();
  }
}
