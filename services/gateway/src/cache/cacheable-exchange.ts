import type { CacheStatus } from "@tollgate/events";
import type { BalancedRequest } from "../proxy/upstream.js";
import type { CacheEntry } from "./cache-entry.js";
import type { CacheFill } from "./cache-fill.js";

/** How a cached response is served: fresh, stale while it is refreshed, or stale for a failing upstream (stale-if-error). */
export type CachedServing = "hit" | "stale" | "stale-if-error";

/** What the response cache needs of a request (the gateway's Exchange), so that it can be tested on its own. */
export interface CacheableExchange extends BalancedRequest {
  readonly method: string;
  /** The Host the client sent (or the authority of an absolute-form target). */
  readonly host: string;
  readonly path: string;
  /** The query sent upstream, with its "?", or "". */
  readonly query: string;
  /** True once the response is over (or the client left): nothing may be sent any more. */
  readonly finished: boolean;
  /** Recorded in RequestCompleted. */
  cacheStatus: CacheStatus;
  /** Sent as X-Cache on every response of the request, when not null. */
  xCache: string | null;
  /** Set on the request whose upstream response fills the entry. */
  cacheFill: CacheFill | null;
  /** An expired entry that may still answer if the upstream fails. */
  staleEntry: CacheEntry | null;
  /** Answers from the entry; `ageSeconds` is its Age header. */
  serveCached(entry: CacheEntry, serving: CachedServing, ageSeconds: number): void;
  /** The cache cannot answer: on to the upstream. */
  afterCacheMiss(): void;
  /** The path and headers the request sends upstream, prepared once (used for a background refresh after a stale answer). */
  upstreamRequest(): { path: string; headers: string[] };
}
