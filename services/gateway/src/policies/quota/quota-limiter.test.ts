import { describe, expect, it } from "vitest";
import { MemoryQuotaCounterStore } from "./memory-quota-counter-store.js";
import { QuotaLimiter, type QuotaSubject } from "./quota-limiter.js";
import { quotaRejection } from "./quota-problems.js";

class ManualClock {
  constructor(public now: number) {}
  epochMs = (): number => this.now;
}

const june15 = Date.parse("2025-06-15T12:00:00.000Z");

function limiter(clock = new ManualClock(june15)): QuotaLimiter {
  return new QuotaLimiter({ store: new MemoryQuotaCounterStore({ clock }), clock });
}

const hard: QuotaSubject = { subscriptionId: "sub-1", quota: { limit: 500, period: "day", enforcement: "hard" } };
const overage: QuotaSubject = { subscriptionId: "sub-2", quota: { limit: 3, period: "month", enforcement: "overage" } };

describe("QuotaLimiter on the memory store", () => {
  it("1,000 concurrent requests against a quota of 500 admit exactly 500, and count only those", async () => {
    const quotas = limiter();
    const decisions = await Promise.all(Array.from({ length: 1_000 }, () => Promise.resolve(quotas.consume(hard))));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(500);
    expect(decisions.filter((decision) => decision.outcome === "exceeded")).toHaveLength(500);
    expect(await quotas.used("sub-1", quotas.windowFor(hard))).toBe(500);
  });

  it("a hard quota refuses with 429 naming it, with headers and Retry-After to the end of the period", async () => {
    const quotas = limiter();
    const small = { ...hard, quota: { ...hard.quota, limit: 1 } };
    const first = await quotas.consume(small);
    expect(first).toMatchObject({ outcome: "admitted", used: 1, remaining: 0, name: "daily-quota" });
    expect(first.headers).toEqual({ "quota-limit": "1", "quota-remaining": "0", "quota-reset": "43200" });
    const refused = await quotas.consume(small);
    expect(refused).toMatchObject({ outcome: "exceeded", allowed: false, used: 1, retryAfterSeconds: 43_200 });
    expect(refused.headers["retry-after"]).toBe("43200");
    expect(quotaRejection(refused)).toEqual({
      problem: { code: "quota-exceeded", status: 429, title: "Quota exceeded", retryable: true },
      detail: 'Quota "daily-quota" (1 requests per day) is used up; it resets at 2025-06-16T00:00:00.000Z.',
      reason: 'quota "daily-quota" exceeded',
      limit: "daily-quota",
    });
  });

  it("an overage quota admits past the limit and says so", async () => {
    const quotas = limiter();
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push((await quotas.consume(overage)).outcome);
    expect(outcomes).toEqual(["admitted", "admitted", "admitted", "overage", "overage"]);
    expect(await quotas.used("sub-2", quotas.windowFor(overage))).toBe(5);
  });

  it("starts a new counter in the next period, and aligns periods to the billing anchor", async () => {
    const clock = new ManualClock(june15);
    const quotas = limiter(clock);
    const small = { ...hard, quota: { ...hard.quota, limit: 1 } };
    expect((await quotas.consume(small)).allowed).toBe(true);
    expect((await quotas.consume(small)).allowed).toBe(false);
    clock.now = Date.parse("2025-06-16T00:00:00.000Z");
    expect((await quotas.consume(small)).allowed).toBe(true);

    const anchored = { ...small, subscriptionId: "sub-3", billingAnchor: Date.parse("2025-01-01T18:00:00.000Z") };
    expect(new Date(quotas.windowFor(anchored).start).toISOString()).toBe("2025-06-15T18:00:00.000Z");
  });

  it("refund and set move the counter, as the projector's reconciliation needs", async () => {
    const quotas = limiter();
    const small = { ...hard, quota: { ...hard.quota, limit: 2 } };
    const window = quotas.windowFor(small);
    await quotas.consume(small);
    await quotas.consume(small);
    expect((await quotas.consume(small)).allowed).toBe(false);
    expect(await quotas.refund("sub-1", window, 1)).toBe(1);
    expect((await quotas.consume(small)).allowed).toBe(true);
    await quotas.set("sub-1", window, 0);
    expect(await quotas.used("sub-1", window)).toBe(0);
  });

  it("decides on the memory store synchronously", () => {
    expect(limiter().consume(hard) instanceof Promise).toBe(false);
  });
});
