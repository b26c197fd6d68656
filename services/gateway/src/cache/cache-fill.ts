import type { CacheableExchange } from "./cacheable-exchange.js";
import { ageSeconds } from "./cache-entry.js";
import { entryFromPlan, planStorage, type StoragePlan } from "./storage-plan.js";
import type { RouteCache } from "./route-cache.js";

/**
 * One upstream request filling one cache entry, and the requests for the same key that
 * wait for it (request collapsing). The leader's own client gets the response as it
 * streams; a copy of the body is kept while it stays within maxEntryBytes. When the
 * response is complete and storable, it is stored and every waiter is answered from
 * it (a hit, no upstream request). When it is not storable, is too large, fails or the
 * leader's client leaves, the waiters are released at once and each goes upstream
 * itself: collapsing only ever saves upstream requests, it never hands a waiter an
 * answer that was not meant to be shared.
 */
export class CacheFill {
  #waiters: CacheableExchange[] | null = null;
  #plan: StoragePlan | null = null;
  #chunks: Buffer[] | null = null;
  #bytes = 0;
  #settled = false;

  constructor(
    private readonly cache: RouteCache,
    readonly key: string,
    private readonly requestHasAuthorization: boolean,
  ) {}

  /** Another request for the key waits for this one's response. */
  wait(exchange: CacheableExchange): void {
    (this.#waiters ??= []).push(exchange);
  }

  get waiting(): number {
    return this.#waiters?.length ?? 0;
  }

  /** The response head, as relayed (`headers[0, end)` are the upstream's). Decides whether the response is kept. */
  head(status: number, headers: readonly string[], end: number): void {
    if (this.#settled) return;
    const plan = planStorage(status, headers, end, this.cache.config, this.requestHasAuthorization);
    if (typeof plan === "string") {
      this.cache.notStored(this.key, plan);
      this.release();
      return;
    }
    this.#plan = plan;
    this.#chunks = [];
  }

  data(chunk: Buffer): void {
    const chunks = this.#chunks;
    if (chunks === null) return;
    this.#bytes += chunk.length;
    if (this.#bytes > this.cache.config.maxEntryBytes) {
      this.cache.notStored(this.key, `the body is larger than maxEntryBytes (${this.cache.config.maxEntryBytes})`);
      this.release();
      return;
    }
    chunks.push(chunk);
  }

  /** The response is complete: store it and answer the waiters from it. */
  complete(): void {
    const plan = this.#plan;
    const chunks = this.#chunks;
    if (this.#settled || plan === null || chunks === null) {
      this.release();
      return;
    }
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#bytes);
    const now = this.cache.clock.epochMs();
    const entry = entryFromPlan(plan, body, now);
    this.cache.store(this.key, entry);
    this.#settled = true;
    this.#chunks = null;
    this.cache.fillSettled(this);
    const waiters = this.#waiters;
    this.#waiters = null;
    if (waiters === null) return;
    const age = ageSeconds(entry, now);
    for (const waiter of waiters) waiter.serveCached(entry, "hit", age);
  }

  /** The leader ended without a storable response (failure, client gone): the waiters go upstream themselves. */
  release(): void {
    this.#chunks = null;
    if (this.#settled) return;
    this.#settled = true;
    this.cache.fillSettled(this);
    const waiters = this.#waiters;
    this.#waiters = null;
    if (waiters === null) return;
    for (const waiter of waiters) waiter.afterCacheMiss();
  }
}
