import { RateLimiterMemory, RateLimiterUnion } from "rate-limiter-flexible";
import { describe, expect, it } from "vitest";
import { MemoryLimiterStore } from "./memory-limiter-store.js";
import { MultiLimiter } from "./multi-limiter.js";
import { rateLimitRejection } from "./rate-limit-problems.js";
import { planRateLimitRules, rateLimitKey, type RateLimitRule, type RateLimitSubject } from "./rate-limit-rule.js";
import type { RateLimitAlgorithm } from "@tollgate/events";

class ManualClock {
  constructor(public now: number) {}
  epochMs = (): number => this.now;
}

const subject: RateLimitSubject = { routeId: "orders", clientIp: "203.0.113.7", consumerId: "alice", planId: "gold" };

function rule(name: string, points: number, windowSeconds: number, algorithm: RateLimitAlgorithm = "fixed-window"): RateLimitRule {
  return { source: "plan/gold", name, points, windowSeconds, algorithm, scope: "consumer" };
}

function memoryLimiter(clock = new ManualClock(1_750_000_000_000)): { limiter: MultiLimiter; clock: ManualClock } {
  return { limiter: new MultiLimiter({ store: new MemoryLimiterStore({ clock, sweepIntervalMs: 0 }), clock }), clock };
}

/** Remaining allowance of one limit, read without consuming: a zero-cost decision. */
async function remaining(limiter: MultiLimiter, rules: readonly RateLimitRule[], name: string): Promise<number> {
  const decision = await limiter.decide(rules, subject, { cost: 0 });
  return decision.reports.find((report) => report.name === name)!.remaining;
}

describe("MultiLimiter on the memory store", () => {
  it.each(["fixed-window", "sliding-window", "token-bucket"] as const)(
    "%s: 1,000 concurrent requests on one key with a limit of 100 admit exactly 100",
    async (algorithm) => {
      // Real time: the burst is decided well within one refill interval (36 s at 100/h).
      const limiter = new MultiLimiter({ store: new MemoryLimiterStore({ sweepIntervalMs: 0 }) });
      const rules = [rule("hourly", 100, 3_600, algorithm)];
      const decisions = await Promise.all(Array.from({ length: 1_000 }, () => Promise.resolve(limiter.decide(rules, subject))));
      expect(decisions.filter((decision) => decision.allowed)).toHaveLength(100);
      expect(decisions.filter((decision) => decision.outcome === "limited")).toHaveLength(900);
    },
  );

  it("a request refused by the per-second limit consumes nothing from the hourly one", async () => {
    const { limiter } = memoryLimiter();
    const rules = [rule("per-second", 5, 1), rule("hourly", 1_000, 3_600)];
    const decisions = await Promise.all(Array.from({ length: 20 }, () => Promise.resolve(limiter.decide(rules, subject))));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(5);
    expect(new Set(decisions.filter((decision) => !decision.allowed).map((decision) => decision.limit))).toEqual(new Set(["per-second"]));
    // 5 admitted, 15 refused: only the 5 count against the hourly limit.
    expect(await remaining(limiter, rules, "hourly")).toBe(995);
  });

  it("a request refused by the hourly limit consumes nothing from the per-second one", async () => {
    const { limiter, clock } = memoryLimiter();
    const rules = [rule("per-second", 10, 1), rule("hourly", 3, 3_600)];
    const decisions = await Promise.all(Array.from({ length: 10 }, () => Promise.resolve(limiter.decide(rules, subject))));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(3);
    expect(decisions.filter((decision) => !decision.allowed).every((decision) => decision.limit === "hourly")).toBe(true);
    expect(await remaining(limiter, rules, "per-second")).toBe(7);
    // A second later the per-second window has its full allowance; the hourly one is still spent.
    clock.now += 1_000;
    const later = await limiter.decide(rules, subject);
    expect(later).toMatchObject({ allowed: false, limit: "hourly" });
    expect(later.reports.find((report) => report.name === "per-second")).toMatchObject({ allowed: true, remaining: 9 });
  });

  it("for contrast: rate-limiter-flexible's RateLimiterUnion takes points from the hourly limit for refused requests", async () => {
    const perSecond = new RateLimiterMemory({ keyPrefix: "s", points: 5, duration: 1 });
    const hourly = new RateLimiterMemory({ keyPrefix: "h", points: 1_000, duration: 3_600 });
    const union = new RateLimiterUnion(perSecond, hourly);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => union.consume("alice")));
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(5);
    // The bug this limiter exists to avoid: 20 points gone from the hourly limit for 5 admissions.
    expect((await hourly.get("alice"))?.consumedPoints).toBe(20);
  });

  it("names the limit that frees up last, and lists every limit that refused", async () => {
    const { limiter } = memoryLimiter();
    const rules = [rule("per-second", 1, 1), rule("per-minute", 1, 60)];
    await limiter.decide(rules, subject);
    const refused = await limiter.decide(rules, subject);
    expect(refused).toMatchObject({ allowed: false, limit: "per-minute", rejectedBy: ["per-second", "per-minute"], retryAfterSeconds: 60 });
    expect(refused.headers).toEqual({
      "ratelimit-limit": "1",
      "ratelimit-remaining": "0",
      "ratelimit-reset": "60",
      "ratelimit-policy": "1;w=1, 1;w=60",
      "retry-after": "60",
    });
    expect(rateLimitRejection(refused)).toMatchObject({
      problem: { status: 429, code: "rate-limited" },
      limit: "per-minute",
      detail: 'Rate limit "per-minute" (1 requests per 60 s) exceeded; also exceeded: "per-second"; retry after 60 s.',
    });
  });

  it("reports the limit closest to running out while admitting", async () => {
    const { limiter, clock } = memoryLimiter();
    const rules = [rule("per-second", 10, 1), rule("hourly", 12, 3_600)];
    const first = await limiter.decide(rules, subject);
    expect(first.headers).toMatchObject({ "ratelimit-limit": "10", "ratelimit-remaining": "9", "ratelimit-reset": "1" });
    for (let i = 0; i < 9; i++) await limiter.decide(rules, subject);
    clock.now += 1_000;
    const later = await limiter.decide(rules, subject);
    // per-second has 9 left, hourly only 1: the hourly limit is the one shown.
    expect(later.headers).toMatchObject({ "ratelimit-limit": "12", "ratelimit-remaining": "1", "ratelimit-reset": "3599" });
    expect(later.headers["retry-after"]).toBeUndefined();
    expect(rateLimitRejection(later)).toBeNull();
  });

  it("is synchronous on the memory store, and admits without headers when there are no limits", () => {
    const { limiter } = memoryLimiter();
    const decision = limiter.decide([rule("per-second", 1, 1)], subject);
    expect(decision instanceof Promise).toBe(false);
    expect(limiter.decide([], subject)).toMatchObject({ allowed: true, decidedBy: "none", headers: {} });
  });

  it("refuses the same counter twice in one decision", () => {
    const { limiter } = memoryLimiter();
    expect(() => limiter.decide([rule("a", 1, 1), rule("a", 1, 1)], subject)).toThrow(/distinct/);
  });
});

describe("rate limit keys", () => {
  const perConsumer = planRateLimitRules("gold", [{ name: "per-second", points: 10, windowSeconds: 1, algorithm: "token-bucket" }])[0]!;

  it("scope the counter per plan, consumer, route, consumer × route and client IP", () => {
    const keyOf = (scope: RateLimitRule["scope"], who: Partial<RateLimitSubject> = {}): string =>
      rateLimitKey("p:", { ...perConsumer, scope }, { ...subject, ...who });
    expect(keyOf("consumer")).toBe("p:plan/gold|per-second|token-bucket|1|consumer=alice");
    expect(keyOf("plan")).toBe("p:plan/gold|per-second|token-bucket|1|plan=gold");
    expect(keyOf("route")).toBe("p:plan/gold|per-second|token-bucket|1|route=orders");
    expect(keyOf("consumer-route")).toBe("p:plan/gold|per-second|token-bucket|1|consumer=alice|route=orders");
    expect(keyOf("ip")).toBe("p:plan/gold|per-second|token-bucket|1|ip=203.0.113.7");
    // Anonymous callers of a consumer-scoped limit are counted per address.
    expect(keyOf("consumer", { consumerId: null })).toBe("p:plan/gold|per-second|token-bucket|1|ip=203.0.113.7");
  });

  it("keeps consumers apart and shares a route-scoped counter", async () => {
    const { limiter } = memoryLimiter();
    const perConsumerRule = { ...perConsumer, points: 1, algorithm: "fixed-window" as const };
    expect((await limiter.decide([perConsumerRule], subject)).allowed).toBe(true);
    expect((await limiter.decide([perConsumerRule], { ...subject, consumerId: "bob" })).allowed).toBe(true);
    expect((await limiter.decide([perConsumerRule], subject)).allowed).toBe(false);

    const perRoute = { ...perConsumerRule, scope: "route" as const };
    expect((await limiter.decide([perRoute], subject)).allowed).toBe(true);
    expect((await limiter.decide([perRoute], { ...subject, consumerId: "bob" })).allowed).toBe(false);
  });
});
