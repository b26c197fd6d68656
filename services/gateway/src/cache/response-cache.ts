import type { Logger } from "@tollgate/observability";
import type { Registry } from "prom-client";
import type { Clock } from "../clock.js";
import type { GatewayConfig, RouteConfig } from "../config/gateway-config.js";
import { createRedisClient } from "../policies/rate-limit/redis-connection-config.js";
import type { Upstream } from "../proxy/upstream.js";
import { registerCacheMetrics } from "./cache-metrics.js";
import type { CacheStore, PurgeFilter } from "./cache-store.js";
import { MemoryCacheStore } from "./memory-cache-store.js";
import { RedisCacheStore } from "./redis-cache-store.js";
import { RouteCache } from "./route-cache.js";

/** The gateway's response cache: one store, one RouteCache per route with `cache`. */
export interface ResponseCache {
  readonly store: CacheStore;
  /** The route's cache, or null when the route has none (or it is disabled). */
  forRoute(route: RouteConfig, upstream: Upstream): RouteCache | null;
  purge(filter: PurgeFilter): Promise<number>;
  close(): Promise<void>;
}

/**
 * Built once at config load, or null when no route caches: then the gateway holds no
 * cache memory and opens no Redis connection, and each request pays one null check.
 */
export function createResponseCache(
  config: GatewayConfig,
  dependencies: { clock: Pick<Clock, "epochMs">; logger: Logger; registry?: Registry },
): ResponseCache | null {
  if (!config.routes.some((route) => route.cache?.enabled === true)) return null;
  const { clock, logger } = dependencies;
  const settings = config.cache;
  let store: CacheStore;
  if (settings.store === "redis" && settings.redis !== undefined) {
    store = new RedisCacheStore({
      client: createRedisClient(settings.redis.url, { logger }),
      keyPrefix: settings.keyPrefix,
      timeoutMs: settings.redis.timeoutMs,
      retryAfterMs: settings.redis.retryAfterMs,
      clock,
      logger,
      ownsClient: true,
    });
  } else {
    store = new MemoryCacheStore(settings.maxBytes, clock);
  }
  const routes: RouteCache[] = [];
  if (dependencies.registry !== undefined) registerCacheMetrics(dependencies.registry, routes, store);
  return {
    store,
    forRoute(route, upstream) {
      const cache = route.cache;
      if (cache?.enabled !== true) return null;
      const routeCache = new RouteCache({
        routeId: route.id,
        config: cache,
        store,
        upstream,
        clock,
        logger,
        staleOn: route.fallback === undefined ? undefined : new Set(route.fallback.on),
      });
      routes.push(routeCache);
      return routeCache;
    },
    purge: (filter) => store.purge(filter),
    close: () => store.close(),
  };
}
