import type { Logger } from "@tollgate/observability";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import type { Clock } from "../clock.js";
import type { GatewayConfig } from "../config/gateway-config.js";
import { createQuotaLimiter } from "./quota/create-quota-limiter.js";
import { QuotaMetrics } from "./quota/quota-metrics.js";
import { createMultiLimiter } from "./rate-limit/create-multi-limiter.js";
import { RateLimitMetrics } from "./rate-limit/rate-limit-metrics.js";
import { createRedisClient } from "./rate-limit/redis-connection-config.js";
import type { LimitDependencies } from "./route-policy-chain.js";

export interface GatewayLimiters extends LimitDependencies {
  /** Closes the Redis connection (if any) and the in-memory stores' timers. */
  close(): Promise<void>;
}

/**
 * The rate limiter and the quota limiter every route shares, or null when no route can
 * be limited (no route has auth, which brings plan limits and quotas, or limits of its
 * own): a gateway without limits opens no Redis connection. When both stores are the
 * same Redis, they share one connection.
 */
export function createGatewayLimiters(
  config: GatewayConfig,
  dependencies: { registry: Registry; logger: Logger; clock?: Pick<Clock, "epochMs"> },
): GatewayLimiters | null {
  const needed = config.routes.some((route) => route.auth.length > 0 || (route.rateLimit?.limits.length ?? 0) > 0);
  if (!needed) return null;
  const { logger, clock } = dependencies;
  const rateStore = config.rateLimit.store;
  const quotaStore = config.quota.store;
  let shared: Redis | undefined;
  if (rateStore.kind === "redis" && quotaStore.kind === "redis" && rateStore.url === quotaStore.url) {
    shared = createRedisClient(rateStore.url, { logger });
  }
  const common = { logger, ...(clock === undefined ? {} : { clock }), ...(shared === undefined ? {} : { redis: shared }) };
  const rate = createMultiLimiter(config.rateLimit, { ...common, metrics: new RateLimitMetrics(dependencies.registry) });
  const quota = createQuotaLimiter(config.quota, { ...common, metrics: new QuotaMetrics(dependencies.registry) });
  return {
    rateLimiter: rate.limiter,
    rateLimitAsync: rateStore.kind === "redis",
    quotaLimiter: quota.limiter,
    quotaAsync: quotaStore.kind === "redis",
    // One Redis for both: the rate limits and the quota of a request go in one script call.
    combinedStore: shared === undefined ? null : rate.redisStore,
    async close() {
      await rate.close();
      await quota.close();
      shared?.disconnect();
    },
  };
}
