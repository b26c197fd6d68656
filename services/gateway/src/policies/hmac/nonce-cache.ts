export type NonceClaim = "fresh" | "replayed" | "full";

/** A full sweep walks every entry; when the cache is full it runs at most once per this interval. */
const sweepIntervalMs = 1_000;

/**
 * Nonces seen recently, each kept until the last instant its request's date is still
 * inside the skew window: after that the date check refuses a replay on its own, so
 * the nonce can be forgotten. Bounded: when the cache is full of live nonces it says
 * so instead of forgetting one, because a forgotten live nonce is a replay window.
 */
export class NonceCache {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  #lastSweep = -Infinity;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Records `key` as used until `liveUntil` (inclusive, epoch ms). "replayed" when it
   * is already recorded and live; "full" when there is no room for it.
   */
  claim(key: string, liveUntil: number, now: number): NonceClaim {
    const seen = this.#entries.get(key);
    if (seen !== undefined && seen >= now) return "replayed";
    if (seen !== undefined) this.#entries.delete(key);
    this.#dropExpiredHead(now);
    if (this.#entries.size >= this.#maxEntries) {
      this.#sweep(now);
      if (this.#entries.size >= this.#maxEntries) return "full";
    }
    this.#entries.set(key, liveUntil);
    return "fresh";
  }

  /** Entries arrive in about the order they expire (dates lie within the skew window), so most expire from the front. */
  #dropExpiredHead(now: number): void {
    for (const [key, liveUntil] of this.#entries) {
      if (liveUntil >= now) return;
      this.#entries.delete(key);
    }
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < sweepIntervalMs) return;
    this.#lastSweep = now;
    for (const [key, liveUntil] of this.#entries) if (liveUntil < now) this.#entries.delete(key);
  }
}
