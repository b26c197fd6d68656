import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSharedRedis, deleteKeys, uniquePrefix } from "../rate-limit/test-support/shared-redis.js";
import { QuotaLimiter, type QuotaSubject } from "./quota-limiter.js";
import { RedisQuotaCounterStore } from "./redis-quota-counter-store.js";

describe("QuotaLimiter on Redis (the shared instance, under a unique prefix)", () => {
  const prefix = uniquePrefix("quota");
  let first: Redis;
  let second: Redis;

  beforeAll(async () => {
    [first, second] = await Promise.all([connectSharedRedis(), connectSharedRedis()]);
  });

  afterAll(async () => {
    await deleteKeys(first, prefix);
    first.disconnect();
    second.disconnect();
  });

  /** Two gateways: separate limiters, separate connections, one Redis. */
  const gateways = (): QuotaLimiter[] =>
    [first, second].map((client) => new QuotaLimiter({ store: new RedisQuotaCounterStore({ client, timeoutMs: 5_000 }), keyPrefix: prefix }));

  it("a hard quota of 500 under 1,000 concurrent requests through two gateways admits exactly 500, and the counter says 500", async () => {
    const subject: QuotaSubject = { subscriptionId: "sub-hard", quota: { limit: 500, period: "day", enforcement: "hard" } };
    const [a, b] = gateways();
    const decisions = await Promise.all(Array.from({ length: 1_000 }, (_, i) => Promise.resolve((i % 2 === 0 ? a! : b!).consume(subject))));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(500);
    expect(decisions.filter((decision) => decision.outcome === "exceeded")).toHaveLength(500);
    // Which gateway wins how many is up to Redis: each client's commands of one turn
    // leave in one write (TurnWriteCoalescer), and Redis may run all of one connection's
    // before it reads the other's. Exactly 500 between them is the property.
    const byGateway = [0, 1].map((g) => decisions.filter((decision, i) => i % 2 === g && decision.allowed).length);
    expect(byGateway[0]! + byGateway[1]!).toBe(500);
    // Refused consumes were given back: the shared counter is exactly the admitted count.
    const window = a!.windowFor(subject);
    expect(await a!.used("sub-hard", window)).toBe(500);
    // The key is the projector's contract, and it lives until the period's end plus retention.
    const key = `${prefix}sub-hard:day:${new Date(window.start).toISOString()}`;
    expect(await first.get(key)).toBe("500");
    const ttlMs = await first.pttl(key);
    expect(Math.abs(Date.now() + ttlMs - (window.end + 7 * 86_400_000))).toBeLessThan(5_000);
  });

  it("an overage quota admits every request, counts them all, and marks those past the limit", async () => {
    const subject: QuotaSubject = { subscriptionId: "sub-overage", quota: { limit: 100, period: "month", enforcement: "overage" } };
    const [a, b] = gateways();
    const decisions = await Promise.all(Array.from({ length: 300 }, (_, i) => Promise.resolve((i % 2 === 0 ? a! : b!).consume(subject))));
    expect(decisions.every((decision) => decision.allowed)).toBe(true);
    expect(decisions.filter((decision) => decision.outcome === "overage")).toHaveLength(200);
    expect(await a!.used("sub-overage", a!.windowFor(subject))).toBe(300);
  });

  it("refund and set reach the shared counter, and other gateways see them at once", async () => {
    const subject: QuotaSubject = { subscriptionId: "sub-refund", quota: { limit: 3, period: "day", enforcement: "hard" } };
    const [a, b] = gateways();
    const window = a!.windowFor(subject);
    for (let i = 0; i < 3; i++) expect((await a!.consume(subject)).allowed).toBe(true);
    expect((await b!.consume(subject)).allowed).toBe(false);
    expect(await a!.refund("sub-refund", window, 2)).toBe(1);
    expect((await b!.consume(subject)).allowed).toBe(true);
    expect((await b!.consume(subject)).allowed).toBe(true);
    expect((await b!.consume(subject)).allowed).toBe(false);
    await a!.set("sub-refund", window, 0);
    expect(await b!.used("sub-refund", window)).toBe(0);
  });
});
