import { Gauge, type Registry } from "prom-client";
import { MemoryCacheStore } from "./memory-cache-store.js";
import type { CacheStore } from "./cache-store.js";
import type { RouteCache } from "./route-cache.js";

/**
 * The response cache on /metrics, read at scrape time from plain counters:
 * - tollgate_cache_lookups_total{route, result}: hit, stale (stale-while-revalidate),
 *   miss (went upstream as the key's leader), collapsed (waited for another request's
 *   response), bypass (not GET or HEAD);
 * - tollgate_cache_stale_if_error_total{route}: failures answered with a stale entry;
 * - tollgate_cache_memory_bytes, tollgate_cache_memory_entries: what the memory store holds.
 */
export function registerCacheMetrics(registry: Registry, routes: readonly RouteCache[], store: CacheStore): void {
  new Gauge({
    name: "tollgate_cache_lookups_total",
    help: "Requests on routes with a cache, by outcome: hit, stale, miss, collapsed, bypass",
    labelNames: ["route", "result"],
    registers: [registry],
    collect() {
      for (const route of routes) {
        const { hit, stale, miss, collapsed, bypass } = route.counts;
        for (const [result, value] of [
          ["hit", hit],
          ["stale", stale],
          ["miss", miss],
          ["collapsed", collapsed],
          ["bypass", bypass],
        ] as const) {
          this.set({ route: route.routeId, result }, value);
        }
      }
    },
  });
  new Gauge({
    name: "tollgate_cache_stale_if_error_total",
    help: "Upstream failures answered with a stale cached response (stale-if-error)",
    labelNames: ["route"],
    registers: [registry],
    collect() {
      for (const route of routes) this.set({ route: route.routeId }, route.counts.staleIfError);
    },
  });
  if (!(store instanceof MemoryCacheStore)) return;
  new Gauge({
    name: "tollgate_cache_memory_bytes",
    help: "Bytes the memory cache store holds (bodies, headers, keys), bounded by cache.maxBytes",
    registers: [registry],
    collect() {
      this.set(store.bytes);
    },
  });
  new Gauge({
    name: "tollgate_cache_memory_entries",
    help: "Entries in the memory cache store",
    registers: [registry],
    collect() {
      this.set(store.entries);
    },
  });
}
