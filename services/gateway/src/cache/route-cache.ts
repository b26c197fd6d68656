import type { FailureKind } from "@tollgate/events";
import type { Logger } from "@tollgate/observability";
import type { Clock } from "../clock.js";
import { buildResponseHeaders } from "../headers.js";
import type { Upstream } from "../proxy/upstream.js";
import { fetchForCache } from "./background-refresh.js";
import type { RouteCacheConfig } from "./cache-config.js";
import { ageSeconds, retainUntil, type CacheEntry } from "./cache-entry.js";
import { CacheFill } from "./cache-fill.js";
import { cacheKey, hasHeader } from "./cache-key.js";
import type { CacheStore } from "./cache-store.js";
import type { CacheableExchange } from "./cacheable-exchange.js";
import { entryFromPlan, planStorage } from "./storage-plan.js";

/** The failure kinds stale-if-error answers when the route has no fallback to say which. */
const allFailures: ReadonlySet<FailureKind> = new Set<FailureKind>(["upstream-error", "timeout", "circuit-open"]);

export interface RouteCacheOptions {
  routeId: string;
  config: RouteCacheConfig;
  store: CacheStore;
  upstream: Upstream;
  clock: Pick<Clock, "epochMs">;
  logger: Logger;
  /** The route's fallback.on, when it has a fallback: the failures a stale entry may answer. */
  staleOn?: ReadonlySet<FailureKind> | undefined;
}

/**
 * One route's response cache: the request path's only entry is `lookup`, called once
 * the policies have admitted the request (so a hit is only ever served to a caller the
 * route lets in) and before anything is sent upstream.
 *
 * - GET and HEAD are looked up; every other method bypasses the cache (X-Cache: BYPASS).
 * - fresh entry: HIT, no upstream request;
 * - expired, within stale-while-revalidate: STALE, and one background request per key
 *   refreshes the entry;
 * - otherwise MISS: the first GET for the key goes upstream and fills the entry, the
 *   others for the same key wait for it (CacheFill). An expired entry still within
 *   stale-if-error is kept on the request, to answer if the upstream fails.
 *
 * The client's own Cache-Control (no-cache, max-age=0) does not bypass the cache, as in
 * Kong's proxy-cache by default: otherwise any client could send every request upstream.
 */
export class RouteCache {
  /** Lookups by outcome, and stale-if-error answers, read by /metrics at scrape time (plain counters: no cost per request beyond an increment). */
  readonly counts = { hit: 0, stale: 0, miss: 0, collapsed: 0, bypass: 0, staleIfError: 0 };
  readonly routeId: string;
  readonly config: RouteCacheConfig;
  readonly clock: Pick<Clock, "epochMs">;
  readonly #store: CacheStore;
  readonly #upstream: Upstream;
  readonly #logger: Logger;
  readonly #staleOn: ReadonlySet<FailureKind>;
  /** Fills in flight, by key: the requests collapsed behind each. */
  readonly #filling = new Map<string, CacheFill>();
  /** Keys with a background refresh in flight: at most one each. */
  readonly #refreshing = new Set<string>();

  constructor(options: RouteCacheOptions) {
    this.routeId = options.routeId;
    this.config = options.config;
    this.clock = options.clock;
    this.#store = options.store;
    this.#upstream = options.upstream;
    this.#logger = options.logger;
    this.#staleOn = options.staleOn ?? allFailures;
  }

  /**
   * Returns true when the cache took the request over (answered it, made it wait for a
   * fill, or is looking it up in a shared store); false when it goes upstream now.
   */
  lookup(exchange: CacheableExchange): boolean {
    const method = exchange.method;
    if (method !== "GET" && method !== "HEAD") {
      this.counts.bypass++;
      exchange.cacheStatus = "bypass";
      exchange.xCache = "BYPASS";
      return false;
    }
    const key = cacheKey(exchange.host, exchange.path, exchange.query, this.config.vary, exchange.headers, this.config.private ? exchange.consumerId : undefined);
    const found = this.#store.get(this.routeId, key);
    if (found instanceof Promise) {
      found.then(
        (entry) => this.#decide(exchange, key, entry, true),
        () => this.#decide(exchange, key, undefined, true),
      );
      return true;
    }
    return this.#decide(exchange, key, found, false);
  }

  #decide(exchange: CacheableExchange, key: string, entry: CacheEntry | undefined, async: boolean): boolean {
    if (exchange.finished) return true;
    if (entry !== undefined) {
      const now = this.clock.epochMs();
      if (now < entry.freshUntil) {
        this.counts.hit++;
        exchange.serveCached(entry, "hit", ageSeconds(entry, now));
        return true;
      }
      if (now < entry.staleWhileRevalidateUntil) {
        this.counts.stale++;
        exchange.serveCached(entry, "stale", ageSeconds(entry, now));
        this.#refresh(exchange, key);
        return true;
      }
      if (now < entry.staleIfErrorUntil) exchange.staleEntry = entry;
    }
    exchange.cacheStatus = "miss";
    exchange.xCache = "MISS";
    const fill = this.#filling.get(key);
    if (fill !== undefined) {
      this.counts.collapsed++;
      fill.wait(exchange);
      return true;
    }
    this.counts.miss++;
    // A HEAD response has no body to store; it goes upstream without filling.
    if (exchange.method === "GET") {
      const leader = new CacheFill(this, key, hasHeader(exchange.headers, "authorization"));
      this.#filling.set(key, leader);
      exchange.cacheFill = leader;
    }
    if (async) exchange.afterCacheMiss();
    return async;
  }

  /**
   * Whether the failed request is answered with its stale entry (stale-if-error): the
   * failure is one the route's fallback would answer (all of them without a fallback)
   * and the entry is still within its stale-if-error window.
   */
  answersFailure(exchange: CacheableExchange, failure: FailureKind): boolean {
    const entry = exchange.staleEntry;
    if (entry === null || !this.#staleOn.has(failure)) return false;
    const now = this.clock.epochMs();
    if (now >= entry.staleIfErrorUntil) return false;
    this.counts.staleIfError++;
    exchange.serveCached(entry, "stale-if-error", ageSeconds(entry, now));
    return true;
  }

  /** Stores a complete entry. */
  store(key: string, entry: CacheEntry): void {
    this.#store.set(this.routeId, key, entry, retainUntil(entry));
  }

  /** A response was not stored; said at debug level, since it is the upstream's choice, not a fault. */
  notStored(key: string, reason: string): void {
    if (this.#logger.isLevelEnabled("debug")) this.#logger.debug({ routeId: this.routeId, key: key.split("\n")[0], reason }, "response not cached");
  }

  fillSettled(fill: CacheFill): void {
    if (this.#filling.get(fill.key) === fill) this.#filling.delete(fill.key);
  }

  /** Requests waiting for a fill of the key (tests and metrics). */
  waitingFor(key: string): number {
    return this.#filling.get(key)?.waiting ?? 0;
  }

  /**
   * Stale-while-revalidate: the client already has its stale answer; one GET per key,
   * with the same path and forwarded headers as the client's request, replaces the entry
   * if its response may be stored. It is the gateway's own request, not a client's: it
   * produces no request event and is not billed. A failure leaves the stale entry.
   */
  #refresh(exchange: CacheableExchange, key: string): void {
    if (this.#refreshing.has(key)) return;
    const now = this.clock.epochMs();
    const target = this.#upstream.pick(exchange, now);
    if (target === null) return;
    this.#refreshing.add(key);
    const { path, headers } = exchange.upstreamRequest();
    const authorization = hasHeader(headers, "authorization");
    target.started();
    fetchForCache(target, path, headers, this.config.maxEntryBytes).then(
      (response) => {
        this.#refreshing.delete(key);
        this.#upstream.report(target, response !== null && response.status >= 502 && response.status <= 504 ? "failure" : "success", this.clock.epochMs());
        if (response === null) return;
        const relayed = buildResponseHeaders(response.headers, "", false);
        const plan = planStorage(response.status, relayed, relayed.length - 2, this.config, authorization);
        if (typeof plan === "string") {
          this.notStored(key, plan);
          return;
        }
        this.store(key, entryFromPlan(plan, response.body, this.clock.epochMs()));
      },
      (error: unknown) => {
        this.#refreshing.delete(key);
        this.#upstream.report(target, "failure", this.clock.epochMs());
        this.#logger.debug({ err: error, routeId: this.routeId }, "background cache refresh failed; the stale entry stays");
      },
    );
  }
}
