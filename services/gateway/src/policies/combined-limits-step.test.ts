import type { IncomingMessage } from "node:http";
import type { Quota, RateLimit } from "@tollgate/events";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCombinedLimitsStep } from "./combined-limits-step.js";
import type { PlanLimits } from "./plan-limits.js";
import type { PolicyExchange, PolicyRejection, PolicyStep } from "./policy-step.js";
import { MemoryQuotaCounterStore } from "./quota/memory-quota-counter-store.js";
import { QuotaLimiter } from "./quota/quota-limiter.js";
import { RedisQuotaCounterStore } from "./quota/redis-quota-counter-store.js";
import { MemoryLimiterStore } from "./rate-limit/memory-limiter-store.js";
import { MultiLimiter } from "./rate-limit/multi-limiter.js";
import { multiLimitScript } from "./rate-limit/multi-limit-script.js";
import { RedisLimiterStore } from "./rate-limit/redis-limiter-store.js";
import { connectSharedRedis, deleteKeys, uniquePrefix } from "./rate-limit/test-support/shared-redis.js";
import { PrivateRedisServer } from "./rate-limit/test-support/private-redis-server.js";
import { createRedisClient } from "./rate-limit/redis-connection-config.js";

/** A request after authorization, as the step sees it. */
function exchangeOf(subscriptionId: string, consumerId = "acme"): PolicyExchange & { responseHeaders: Record<string, string> } {
  const responseHeaders: Record<string, string> = {};
  return {
    method: "GET",
    path: "/orders",
    query: "",
    clientIp: "127.0.0.1",
    receivedAtMs: Date.now(),
    headers: [],
    req: {} as IncomingMessage,
    bodyOverride: null,
    identity: null,
    consumerId,
    credentialId: null,
    planId: "gold",
    subscriptionId,
    controlPlaneVersion: null,
    responseHeaders,
    addResponseHeaders(headers) {
      Object.assign(responseHeaders, headers);
    },
  };
}

interface Setup {
  step: PolicyStep;
  quotas: QuotaLimiter;
  rates: MultiLimiter;
}

function setup(client: Redis, prefix: string, plan: { rateLimits: RateLimit[]; quota: Quota }, storeTimeoutMs = 2_000): Setup {
  const planLimits: PlanLimits = { planId: "gold", ...plan };
  const store = new RedisLimiterStore({ client, timeoutMs: storeTimeoutMs });
  const rates = new MultiLimiter({ store, insurance: new MemoryLimiterStore(), keyPrefix: `${prefix}rl:`, retryStoreAfterMs: 60_000 });
  const quotas = new QuotaLimiter({
    store: new RedisQuotaCounterStore({ client, timeoutMs: storeTimeoutMs }),
    insurance: new MemoryQuotaCounterStore(),
    keyPrefix: `${prefix}quota:`,
    retryStoreAfterMs: 60_000,
  });
  const step = createCombinedLimitsStep({
    routeId: "orders",
    rateLimit: undefined,
    rateLimiter: rates,
    quotaLimiter: quotas,
    store,
    plans: { plan: (id) => (id === "gold" ? planLimits : undefined) },
    anchors: { billingAnchor: () => null },
    onQuotaStoreFailure: undefined,
  });
  return { step, quotas, rates };
}

async function run(step: PolicyStep, exchange: PolicyExchange): Promise<PolicyRejection | null> {
  return await step.run(exchange);
}

describe("combined limits step: rate limits and quota in one Redis call", () => {
  let client: Redis;
  const prefix = uniquePrefix("combined-limits");

  beforeAll(async () => {
    client = await connectSharedRedis();
  });

  afterAll(async () => {
    await deleteKeys(client, prefix);
    client.disconnect();
  });

  it("1,000 concurrent requests against a hard quota of 500 admit exactly 500, and the counter the projector reads says 500", async () => {
    const { step, quotas } = setup(client, `${prefix}a:`, { rateLimits: [{ name: "per-hour", points: 10_000, windowSeconds: 3_600, algorithm: "fixed-window" }], quota: { limit: 500, period: "day", enforcement: "hard" } });
    // The server knows the script already (as it does after the first request), so that
    // the count below does not depend on which test used this Redis first.
    await client.script("LOAD", multiLimitScript);
    // Every command the client sends, to show one round trip for many requests.
    let commands = 0;
    const send = client.sendCommand.bind(client);
    client.sendCommand = (...args: Parameters<Redis["sendCommand"]>) => {
      commands += 1;
      return send(...args);
    };
    const results = await Promise.all(Array.from({ length: 1_000 }, () => run(step, exchangeOf("sub-a"))));
    client.sendCommand = send;
    // One EVALSHA for each 64 requests: all 1,000 reached the store in one turn of the
    // event loop, and a script call decides at most 64.
    expect(commands).toBe(Math.ceil(1_000 / 64));
    expect(results.filter((result) => result === null)).toHaveLength(500);
    const refused = results.filter((result): result is PolicyRejection => result !== null);
    expect(refused).toHaveLength(500);
    expect(new Set(refused.map((rejection) => `${rejection.stage} ${rejection.limit}`))).toEqual(new Set(["quota daily-quota"]));
    const window = quotas.windowFor({ subscriptionId: "sub-a", quota: { limit: 500, period: "day", enforcement: "hard" } });
    // The quota store (rate-limiter-flexible's key and value) reads what the script wrote.
    expect(await quotas.used("sub-a", window)).toBe(500);
    const ttl = await client.pttl(quotas.counterKey("sub-a", window));
    expect(ttl).toBeGreaterThan(window.end - Date.now());
  });

  it("a request a rate limit refuses takes no unit of the quota; one the quota refuses has counted against the rate limit", async () => {
    const quota: Quota = { limit: 3, period: "month", enforcement: "hard" };
    const { step, quotas } = setup(client, `${prefix}b:`, { rateLimits: [{ name: "burst", points: 5, windowSeconds: 3_600, algorithm: "fixed-window" }], quota });
    const outcomes: string[] = [];
    const exchange = exchangeOf("sub-b");
    for (let index = 0; index < 7; index += 1) {
      const rejection = await run(step, exchange);
      outcomes.push(rejection === null ? "ok" : `${rejection.stage}:${rejection.limit}`);
    }
    // 3 admitted, 2 refused by the quota (each counted by the limit of 5), then the limit refuses.
    expect(outcomes).toEqual(["ok", "ok", "ok", "quota:monthly-quota", "quota:monthly-quota", "rate-limit:burst", "rate-limit:burst"]);
    expect(await quotas.used("sub-b", quotas.windowFor({ subscriptionId: "sub-b", quota }))).toBe(3);
    expect(exchange.responseHeaders).toMatchObject({ "ratelimit-remaining": "0", "retry-after": expect.any(String) as string });
  });

  it("an overage quota counts past its limit and the headers say so", async () => {
    const quota: Quota = { limit: 2, period: "day", enforcement: "overage" };
    const { step, quotas } = setup(client, `${prefix}c:`, { rateLimits: [{ name: "per-second", points: 100, windowSeconds: 1, algorithm: "token-bucket" }], quota });
    const exchange = exchangeOf("sub-c");
    for (let index = 0; index < 4; index += 1) expect(await run(step, exchange)).toBeNull();
    expect(exchange.responseHeaders).toMatchObject({ "quota-limit": "2", "quota-remaining": "0" });
    expect(await quotas.used("sub-c", quotas.windowFor({ subscriptionId: "sub-c", quota }))).toBe(4);
  });

  it("with Redis gone, both stages decide from memory (fail open), and the outage is the limiters' own", async () => {
    const redis = await PrivateRedisServer.start();
    const own = createRedisClient(redis.url, {});
    try {
      const quota: Quota = { limit: 5, period: "day", enforcement: "hard" };
      const { step, quotas, rates } = setup(own, `${prefix}d:`, { rateLimits: [{ name: "per-hour", points: 100, windowSeconds: 3_600, algorithm: "fixed-window" }], quota }, 200);
      expect(await run(step, exchangeOf("sub-d"))).toBeNull();
      await redis.kill("SIGKILL");
      const outcomes: string[] = [];
      for (let index = 0; index < 6; index += 1) {
        const rejection = await run(step, exchangeOf("sub-d"));
        outcomes.push(rejection === null ? "ok" : `${rejection.stage}:${rejection.limit}`);
      }
      // The insurance quota starts from the 1 Redis last reported: 4 more, then refused.
      expect(outcomes).toEqual(["ok", "ok", "ok", "ok", "quota:daily-quota", "quota:daily-quota"]);
      expect(rates.storeDown).toBe(true);
      expect(quotas.storeKnownDown()).toBe(true);
    } finally {
      own.disconnect();
      await redis.stop();
    }
  });
});
