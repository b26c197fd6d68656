import type { RateLimitAlgorithm } from "@tollgate/events";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LimitCheck } from "./limiter-store.js";
import { MemoryLimiterStore } from "./memory-limiter-store.js";
import { MultiLimiter } from "./multi-limiter.js";
import type { RateLimitRule, RateLimitSubject } from "./rate-limit-rule.js";
import { RedisLimiterStore } from "./redis-limiter-store.js";
import { countSocketWrites } from "./test-support/count-socket-writes.js";
import { connectSharedRedis, deleteKeys, uniquePrefix } from "./test-support/shared-redis.js";

const subject: RateLimitSubject = { routeId: "orders", clientIp: "203.0.113.7", consumerId: "alice", planId: "gold" };

function rule(name: string, points: number, windowSeconds: number, algorithm: RateLimitAlgorithm = "fixed-window"): RateLimitRule {
  return { source: "plan/gold", name, points, windowSeconds, algorithm, scope: "consumer" };
}

describe("MultiLimiter on Redis (the shared instance, under a unique prefix)", () => {
  const prefix = uniquePrefix("rate-limit");
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

  it.each(["fixed-window", "sliding-window", "token-bucket"] as const)(
    "%s: 1,000 concurrent requests through two limiters with their own clients admit exactly 100",
    async (algorithm) => {
      const keyPrefix = `${prefix}${algorithm}:`;
      // Two gateways: separate limiters, separate connections, one Redis.
      const gateways = [first, second].map((client) => new MultiLimiter({ store: new RedisLimiterStore({ client, timeoutMs: 5_000 }), keyPrefix }));
      const rules = [rule("hourly", 100, 3_600, algorithm)];
      const decisions = await Promise.all(Array.from({ length: 1_000 }, (_, i) => Promise.resolve(gateways[i % 2]!.decide(rules, subject))));
      const admitted = decisions.filter((decision) => decision.allowed);
      expect(admitted).toHaveLength(100);
      expect(decisions.every((decision) => decision.decidedBy === "store")).toBe(true);
      // Which gateway wins how many is up to Redis: on a busy machine it can drain one
      // connection's 500 commands before it reads the other's, and one gateway then takes
      // the whole limit. Exactly 100 between them is the property.
      const byGateway = [0, 1].map((g) => decisions.filter((decision, i) => i % 2 === g && decision.allowed).length);
      expect(byGateway[0]! + byGateway[1]!).toBe(100);
    },
  );

  it("a request refused by the per-second limit consumes nothing from the hourly one, and the reverse", async () => {
    const limiter = new MultiLimiter({ store: new RedisLimiterStore({ client: first, timeoutMs: 5_000 }), keyPrefix: `${prefix}multi:` });
    const read = async (rules: RateLimitRule[], name: string): Promise<number> =>
      (await limiter.decide(rules, subject, { cost: 0 })).reports.find((report) => report.name === name)!.remaining;

    const secondThenHour = [rule("per-second-a", 5, 60), rule("hourly-a", 1_000, 3_600)];
    const burst = await Promise.all(Array.from({ length: 20 }, () => Promise.resolve(limiter.decide(secondThenHour, subject))));
    expect(burst.filter((decision) => decision.allowed)).toHaveLength(5);
    expect(burst.filter((decision) => !decision.allowed).every((decision) => decision.limit === "per-second-a")).toBe(true);
    expect(await read(secondThenHour, "hourly-a")).toBe(995);

    const hourThenSecond = [rule("per-second-b", 10, 60), rule("hourly-b", 3, 3_600)];
    const second = await Promise.all(Array.from({ length: 10 }, () => Promise.resolve(limiter.decide(hourThenSecond, subject))));
    expect(second.filter((decision) => decision.allowed)).toHaveLength(3);
    expect(second.filter((decision) => !decision.allowed).every((decision) => decision.limit === "hourly-b")).toBe(true);
    expect(await read(hourThenSecond, "per-second-b")).toBe(7);
  });

  it("decides the requests of one turn in one script call, in the order they came, each with its own answer", async () => {
    const store = new RedisLimiterStore({ client: first, timeoutMs: 5_000 });
    const limited = (name: string, points: number): LimitCheck => ({ key: `${prefix}turn:${name}`, shape: { algorithm: "fixed-window", points, windowMs: 60_000 } });
    await store.consume([limited("warm", 1)], 1); // the script is loaded
    const writes = countSocketWrites(first);

    // Requests without a quota, with one, and with a quota but no limit, on shared keys.
    const quota = { key: `${prefix}turn:quota`, limit: 4, enforcement: "hard", ttlMs: 60_000 } as const;
    const plain = Array.from({ length: 8 }, () => store.consume([limited("a", 5), limited("b", 100)], 1));
    const withQuota = Array.from({ length: 6 }, () => store.consumeWithQuota([limited("a", 10)], 1, quota));
    const quotaOnly = store.consumeWithQuota([], 2, { ...quota, enforcement: "overage" });
    const [plainVerdicts, quotaAnswers, quotaOnlyAnswer] = await Promise.all([Promise.all(plain), Promise.all(withQuota), quotaOnly]);
    expect(writes.count()).toBe(1);

    expect(plainVerdicts.map(([a]) => a!.allowed)).toEqual([true, true, true, true, true, false, false, false]);
    expect(plainVerdicts.map(([a]) => a!.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0, 0]);
    // "b" was written only for the five that "a" allowed: each refused request sees 95
    // counted and reports what its own would have left.
    expect(plainVerdicts.map(([, b]) => b!.remaining)).toEqual([99, 98, 97, 96, 95, 94, 94, 94]);
    // "a" holds 5 by now, and a limit of 10 has room for five more. The fifth passes "a" but
    // finds the quota of 4 full; the sixth is refused by "a".
    expect(quotaAnswers.map(({ verdicts: [a] }) => a!.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
    expect(quotaAnswers.map(({ quota: count }) => count)).toEqual([
      { admitted: true, used: 1 },
      { admitted: true, used: 2 },
      { admitted: true, used: 3 },
      { admitted: true, used: 4 },
      { admitted: false, used: 4 },
      null, // refused by "a" before the quota was looked at
    ]);
    expect(quotaAnswers.map(({ verdicts: [a] }) => a!.allowed)).toEqual([true, true, true, true, true, false]);
    expect(quotaOnlyAnswer).toEqual({ verdicts: [], quota: { admitted: true, used: 6 } });
  });

  it("a request whose decision fails gets that error, and the others in its script call are decided as usual", async () => {
    const store = new RedisLimiterStore({ client: first, timeoutMs: 5_000 });
    const broken = `${prefix}broken:list`;
    await first.rpush(broken, "not a counter");
    const check = (key: string): LimitCheck => ({ key, shape: { algorithm: "token-bucket", points: 3, windowMs: 60_000 } });
    const answers = await Promise.allSettled([
      store.consume([check(`${prefix}broken:fine`)], 1),
      store.consume([check(`${prefix}broken:fine`), check(broken)], 1),
      store.consume([check(`${prefix}broken:fine`)], 1),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((answers[1] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
    expect(String((answers[1] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    // The failed request wrote nothing: the third request is the second one counted.
    expect((answers[2] as PromiseFulfilledResult<readonly { remaining: number }[]>).value[0]!.remaining).toBe(1);
    expect(await first.lrange(broken, 0, -1)).toEqual(["not a counter"]);
  });

  it("splits a turn of more than 64 requests into several script calls that keep the order", async () => {
    const store = new RedisLimiterStore({ client: first, timeoutMs: 5_000 });
    const check: LimitCheck = { key: `${prefix}large-turn`, shape: { algorithm: "sliding-window", points: 150, windowMs: 3_600_000 } };
    const verdicts = await Promise.all(Array.from({ length: 200 }, () => store.consume([check], 1)));
    // Admitted in order: the first 150 and none after.
    expect(verdicts.map(([verdict]) => verdict!.allowed)).toEqual(Array.from({ length: 200 }, (_, i) => i < 150));
  });

  it("decides exactly as the memory store does, instant by instant, for every algorithm", async () => {
    // Same clock for both stores; a seeded sequence of requests over several windows.
    let now = 1_750_000_000_000;
    const clock = { epochMs: () => now };
    const memory = new MemoryLimiterStore({ clock, sweepIntervalMs: 0 });
    const redis = new RedisLimiterStore({ client: first, clock, timeoutMs: 5_000 });
    const checks = (algorithm: RateLimitAlgorithm): LimitCheck[] => [
      { key: `${prefix}parity:${algorithm}:a`, shape: { algorithm, points: 7, windowMs: 1_000 } },
      { key: `${prefix}parity:${algorithm}:b`, shape: { algorithm, points: 20, windowMs: 5_000 } },
    ];
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    let compared = 0;
    const outcomes = { admitted: 0, refused: 0 };
    for (const algorithm of ["fixed-window", "sliding-window", "token-bucket"] as const) {
      for (let step = 0; step < 300; step++) {
        now += Math.floor(random() * 60);
        const cost = random() < 0.1 ? 3 : 1;
        const expected = memory.consume(checks(algorithm), cost);
        const actual = await redis.consume(checks(algorithm), cost);
        expect(actual, `${algorithm} step ${step}`).toEqual(expected);
        compared += 1;
        if (expected.every((verdict) => verdict.allowed)) outcomes.admitted += 1;
        else outcomes.refused += 1;
      }
    }
    expect(compared).toBe(900);
    // The sequence is dense enough that both outcomes are compared, many times.
    expect(outcomes.admitted).toBeGreaterThan(100);
    expect(outcomes.refused).toBeGreaterThan(100);
  });
});
