/**
 * A stored response. Times are epoch milliseconds of the gateway's clock; an entry is
 * fresh until `freshUntil`, then may be served while its background refresh runs until
 * `staleWhileRevalidateUntil`, and may answer for a failing upstream until
 * `staleIfErrorUntil`. The store may drop it once all three have passed.
 */
export interface CacheEntry {
  readonly status: number;
  /**
   * Flat name/value pairs as relayed to the client, hop-by-hop fields already removed,
   * without Age, X-Request-Id and X-Cache (added per response) and with a Content-Length
   * of the stored body (except for 204).
   */
  readonly headers: readonly string[];
  readonly body: Buffer;
  readonly storedAt: number;
  /** The Age the upstream reported (RFC 9111 4.2.3), in seconds. */
  readonly initialAgeSeconds: number;
  readonly freshUntil: number;
  readonly staleWhileRevalidateUntil: number;
  readonly staleIfErrorUntil: number;
}

/** Until when a store keeps the entry: past that, nothing can serve it. */
export function retainUntil(entry: CacheEntry): number {
  return Math.max(entry.freshUntil, entry.staleWhileRevalidateUntil, entry.staleIfErrorUntil);
}

/** The entry's Age header value at `now` (RFC 9111 5.1): the upstream's age plus the time it has been stored. */
export function ageSeconds(entry: CacheEntry, now: number): number {
  return entry.initialAgeSeconds + Math.max(0, Math.floor((now - entry.storedAt) / 1_000));
}

/** What an entry costs a size-bounded store: body, header text and a fixed overhead for the object itself. */
export function entrySize(entry: CacheEntry, key: string): number {
  let size = entry.body.length + key.length + 128;
  for (const text of entry.headers) size += text.length + 8;
  return size;
}
