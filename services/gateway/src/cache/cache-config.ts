import { z } from "zod";
import { RedisConnectionConfig } from "../policies/rate-limit/redis-connection-config.js";

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "expected an HTTP header name")
  .transform((name) => name.toLowerCase());

const seconds = (max: number) => z.number().int().min(0).max(max);

/** A route's response cache. Present and enabled: GET and HEAD responses of the route may be served from the cache. */
export const RouteCacheConfig = z.strictObject({
  enabled: z.boolean().default(true).describe("Cache the route's GET and HEAD responses; false keeps the settings but turns the cache off"),
  ttlSeconds: seconds(31_536_000)
    .default(0)
    .describe(
      "Freshness of a response whose Cache-Control gives none (no s-maxage, no max-age), for the heuristically cacheable statuses only. 0: only responses with explicit freshness are stored",
    ),
  vary: z
    .array(headerName)
    .max(16)
    .default([])
    .describe(
      "Request headers that are part of the cache key (e.g. accept, accept-encoding). A response whose Vary names a header not listed here is not stored",
    ),
  private: z
    .boolean()
    .default(false)
    .describe("Key entries by consumer too, so each authenticated consumer gets its own entries (needs auth on the route)"),
  allowSetCookie: z
    .boolean()
    .default(false)
    .describe("Store responses that set cookies; off by default, because the cookie would be handed to every client"),
  maxEntryBytes: z
    .number()
    .int()
    .min(1)
    .max(64 * 1_048_576)
    .default(1_048_576)
    .describe("Largest response body stored; larger responses are relayed and not stored"),
  staleWhileRevalidateSeconds: seconds(86_400)
    .default(0)
    .describe(
      "How long after expiry an entry is still served (X-Cache: STALE) while one background request refreshes it, when the response has no stale-while-revalidate directive",
    ),
  staleIfErrorSeconds: seconds(31_536_000)
    .default(0)
    .describe(
      "How long after expiry an entry may answer when the upstream fails (the route's fallback.on failure kinds), when the response has no stale-if-error directive",
    ),
});

export type RouteCacheConfig = z.output<typeof RouteCacheConfig>;

export const cacheStoreKinds = ["memory", "redis"] as const;

/** The gateway-wide cache store, shared by every route with `cache`. */
export const GatewayCacheConfig = z
  .strictObject({
    store: z
      .enum(cacheStoreKinds)
      .default("memory")
      .describe("memory: a size-bounded LRU in this gateway; redis: one cache shared by every gateway (needs `redis`)"),
    maxBytes: z
      .number()
      .int()
      .min(1_024)
      .max(16 * 1_073_741_824)
      .default(64 * 1_048_576)
      .describe("Most bytes the memory store holds (bodies, headers and keys); least recently used entries go first"),
    redis: RedisConnectionConfig.optional().describe(
      "The Redis of the shared store (store: redis). timeoutMs bounds a lookup: a slower or failed lookup is a miss",
    ),
    keyPrefix: z.string().max(100).default("tollgate:cache:").describe("Prefix of every Redis key, so several installations can share one Redis"),
    adminToken: z
      .string()
      .min(16, "use at least 16 characters")
      .max(512)
      .nullable()
      .default(null)
      .describe("Bearer token of POST /cache/purge on the status server; null disables the endpoint. Never logged"),
  })
  .superRefine((config, ctx) => {
    if (config.store === "redis" && config.redis === undefined) {
      ctx.addIssue({ code: "custom", path: ["redis"], message: 'store "redis" needs redis.url' });
    }
  });

export type GatewayCacheConfig = z.output<typeof GatewayCacheConfig>;

interface RouteWithCache {
  cache?: RouteCacheConfig | undefined;
  auth: readonly unknown[];
}

/** Entries keyed by consumer need a consumer: a private cache on a route without auth would be one shared entry. */
export function checkRouteCache(config: { routes: RouteWithCache[] }, ctx: z.RefinementCtx<{ routes: RouteWithCache[] }>): void {
  config.routes.forEach((route, index) => {
    if (route.cache?.private === true && route.auth.length === 0) {
      ctx.addIssue({ code: "custom", path: ["routes", index, "cache", "private"], message: "private needs auth: entries are keyed by consumer" });
    }
  });
}
