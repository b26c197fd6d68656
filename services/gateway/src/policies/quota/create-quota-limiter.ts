import type { Logger } from "@tollgate/observability";
import type { Redis } from "ioredis";
import type { Clock } from "../../clock.js";
import { createRedisClient } from "../rate-limit/redis-connection-config.js";
import { MemoryQuotaCounterStore } from "./memory-quota-counter-store.js";
import type { QuotaPolicyConfig } from "./quota-policy-config.js";
import { QuotaLimiter, type QuotaMetricsSink } from "./quota-limiter.js";
import { RedisQuotaCounterStore } from "./redis-quota-counter-store.js";

export interface CreateQuotaLimiterDependencies {
  /** A client to share with the rate limit policy; one is created from `store.url` when absent (and closed by `close`). */
  redis?: Redis;
  clock?: Pick<Clock, "epochMs">;
  logger?: Logger;
  metrics?: QuotaMetricsSink;
}

export interface QuotaPolicy {
  limiter: QuotaLimiter;
  close(): Promise<void>;
}

/** Builds the quota limiter the validated config describes. */
export function createQuotaLimiter(config: QuotaPolicyConfig, dependencies: CreateQuotaLimiterDependencies = {}): QuotaPolicy {
  const common = {
    keyPrefix: config.keyPrefix,
    retentionMs: config.retentionDays * 86_400_000,
    onStoreFailure: config.onStoreFailure,
    clock: dependencies.clock,
    logger: dependencies.logger,
    metrics: dependencies.metrics,
  };
  if (config.store.kind === "memory") {
    return { limiter: new QuotaLimiter({ ...common, store: new MemoryQuotaCounterStore({ clock: dependencies.clock }) }), close: () => Promise.resolve() };
  }
  const ownsClient = dependencies.redis === undefined;
  const client = dependencies.redis ?? createRedisClient(config.store.url, { logger: dependencies.logger });
  const limiter = new QuotaLimiter({
    ...common,
    store: new RedisQuotaCounterStore({ client, timeoutMs: config.store.timeoutMs, clock: dependencies.clock }),
    insurance: new MemoryQuotaCounterStore({ clock: dependencies.clock }),
    insuranceDivisor: config.insurance.divisor,
    retryStoreAfterMs: config.store.retryAfterMs,
  });
  return {
    limiter,
    close: () => {
      if (ownsClient) client.disconnect();
      return Promise.resolve();
    },
  };
}
