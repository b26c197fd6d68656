import { describe, expect, it } from "vitest";
import { backoffDelayMs, RetryBudget } from "./retry-budget.js";

describe("RetryBudget", () => {
  it("allows retries up to ratio × requests (plus the minimum) over the window, then refuses", () => {
    const budget = new RetryBudget(0.2, 0, 10_000);
    for (let n = 0; n < 100; n++) budget.request(1_000);
    let granted = 0;
    for (let n = 0; n < 100; n++) if (budget.tryRetry(1_500)) granted += 1;
    expect(granted).toBe(20);
  });

  it("keeps a quiet route able to retry, and forgets traffic older than the window", () => {
    const budget = new RetryBudget(0.2, 1, 10_000);
    // No traffic at all: the minimum, 1 per second over 10 s.
    let granted = 0;
    for (let n = 0; n < 50; n++) if (budget.tryRetry(0)) granted += 1;
    expect(granted).toBe(10);
    // 11 s later everything has aged out.
    expect(budget.tryRetry(11_000)).toBe(true);
  });

  it("under a 100% failing upstream, retries stay within the share whatever the load", () => {
    const budget = new RetryBudget(0.1, 0, 10_000);
    let retries = 0;
    let requests = 0;
    for (let ms = 0; ms < 30_000; ms += 5) {
      budget.request(ms);
      requests += 1;
      // Every request fails and wants up to 3 retries.
      for (let attempt = 0; attempt < 3; attempt++) if (budget.tryRetry(ms)) retries += 1;
    }
    expect(retries / requests).toBeLessThanOrEqual(0.1 + 1e-9);
    expect(retries / requests).toBeGreaterThan(0.09);
  });
});

describe("backoffDelayMs", () => {
  it("is full jitter under an exponential ceiling, capped", () => {
    expect(backoffDelayMs(1, 25, 1_000, () => 0.999)).toBe(24);
    expect(backoffDelayMs(3, 25, 1_000, () => 0.5)).toBe(50);
    expect(backoffDelayMs(10, 25, 1_000, () => 0.999)).toBe(999);
    expect(backoffDelayMs(2, 25, 1_000, () => 0)).toBe(0);
  });
});
