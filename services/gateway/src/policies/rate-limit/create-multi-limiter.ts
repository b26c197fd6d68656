import type { Logger } from "@tollgate/observability";
import type { Redis } from "ioredis";
import type { Clock } from "../../clock.js";
import { MemoryLimiterStore } from "./memory-limiter-store.js";
import { MultiLimiter, type RateLimitMetricsSink } from "./multi-limiter.js";
import type { RateLimitPolicyConfig } from "./rate-limit-policy-config.js";
import { createRedisClient } from "./redis-connection-config.js";
import { RedisLimiterStore } from "./redis-limiter-store.js";

export interface CreateMultiLimiterDependencies {
  /** A client to share with other policies; one is created from `store.url` when absent (and closed by `close`). */
  redis?: Redis;
  clock?: Pick<Clock, "epochMs">;
  logger?: Logger;
  metrics?: RateLimitMetricsSink;
}

export interface RateLimitPolicy {
  limiter: MultiLimiter;
  /** The Redis store, for the combined limits step that also sends the quota in its call; null in memory. */
  redisStore: RedisLimiterStore | null;
  close(): Promise<void>;
}

/** Builds the limiter the validated config describes. */
export function createMultiLimiter(config: RateLimitPolicyConfig, dependencies: CreateMultiLimiterDependencies = {}): RateLimitPolicy {
  const common = {
    keyPrefix: config.keyPrefix,
    onStoreFailure: config.onStoreFailure,
    clock: dependencies.clock,
    logger: dependencies.logger,
    metrics: dependencies.metrics,
  };
  if (config.store.kind === "memory") {
    const store = new MemoryLimiterStore({ clock: dependencies.clock });
    return { limiter: new MultiLimiter({ ...common, store }), redisStore: null, close: () => store.close() };
  }
  const ownsClient = dependencies.redis === undefined;
  const client = dependencies.redis ?? createRedisClient(config.store.url, { logger: dependencies.logger });
  const insurance = new MemoryLimiterStore({ clock: dependencies.clock });
  const redisStore = new RedisLimiterStore({ client, timeoutMs: config.store.timeoutMs });
  const limiter = new MultiLimiter({
    ...common,
    store: redisStore,
    insurance,
    insurancePointsDivisor: config.insurance.pointsDivisor,
    retryStoreAfterMs: config.store.retryAfterMs,
  });
  return {
    limiter,
    redisStore,
    close: async () => {
      await insurance.close();
      if (ownsClient) client.disconnect();
    },
  };
}
