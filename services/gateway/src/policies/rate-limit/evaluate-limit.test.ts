import { describe, expect, it } from "vitest";
import { evaluateLimit, type LimitShape, type LimitState } from "./evaluate-limit.js";

/** Runs requests at the given instants, storing state only when admitted, as the stores do. */
function run(shape: LimitShape, instants: readonly number[], cost = 1): ReturnType<typeof evaluateLimit>[] {
  let state: LimitState | undefined;
  return instants.map((now) => {
    const evaluation = evaluateLimit(shape, state, now, cost);
    if (evaluation.allowed) state = evaluation.next;
    return evaluation;
  });
}

const t0 = 1_750_000_000_000;

describe("fixed window", () => {
  const shape: LimitShape = { algorithm: "fixed-window", points: 3, windowMs: 1_000 };

  it("allows points per window, opened by the first request, and resets after it", () => {
    const results = run(shape, [t0, t0 + 100, t0 + 200, t0 + 300, t0 + 999, t0 + 1_000]);
    expect(results.map((result) => result.allowed)).toEqual([true, true, true, false, false, true]);
    expect(results.map((result) => result.remaining)).toEqual([2, 1, 0, 0, 0, 2]);
    expect(results[3]).toMatchObject({ resetMs: 700, retryAfterMs: 700 });
    expect(results[0]?.expiresAt).toBe(t0 + 1_000);
  });

  it("refuses a request costing more than what is left, without counting it", () => {
    const results = run(shape, [t0, t0 + 1, t0 + 2], 2);
    expect(results.map((result) => result.allowed)).toEqual([true, false, false]);
    expect(results[2]?.remaining).toBe(1);
  });
});

describe("sliding window", () => {
  const shape: LimitShape = { algorithm: "sliding-window", points: 10, windowMs: 1_000 };
  const aligned = Math.ceil(t0 / 1_000) * 1_000;

  it("weights the previous window by its overlap, so there is no burst at the boundary", () => {
    const first = run(shape, Array.from({ length: 12 }, () => aligned + 900));
    expect(first.filter((result) => result.allowed)).toHaveLength(10);
    // 10 in the previous window; 25% into the next one, 75% of them still count: 7.5, so 2 fit.
    let state: LimitState = [aligned / 1_000, 10, 0];
    const admitted: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const evaluation = evaluateLimit(shape, state, aligned + 1_250, 1);
      admitted.push(evaluation.allowed);
      if (evaluation.allowed) state = evaluation.next;
    }
    expect(admitted).toEqual([true, true, false, false]);
  });

  it("says when a refused request would fit", () => {
    const state: LimitState = [aligned / 1_000, 10, 0];
    const refused = evaluateLimit(shape, state, aligned + 500, 1);
    expect(refused.allowed).toBe(false);
    // The 10 become the previous window at +1000 and must fade to 9: 10% into it.
    expect(refused.retryAfterMs).toBe(600);
    const retried = evaluateLimit(shape, state, aligned + 500 + refused.retryAfterMs, 1);
    expect(retried.allowed).toBe(true);
  });

  it("forgets windows older than the previous one", () => {
    const evaluation = evaluateLimit(shape, [aligned / 1_000 - 2, 10, 10], aligned, 1);
    expect(evaluation).toMatchObject({ allowed: true, remaining: 9 });
  });
});

describe("token bucket (GCRA)", () => {
  const shape: LimitShape = { algorithm: "token-bucket", points: 5, windowMs: 1_000 };

  it("allows a burst of points, then one request per windowMs / points", () => {
    const burst = run(shape, Array.from({ length: 7 }, () => t0));
    expect(burst.map((result) => result.allowed)).toEqual([true, true, true, true, true, false, false]);
    expect(burst.map((result) => result.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0]);
    expect(burst[5]).toMatchObject({ retryAfterMs: 200, resetMs: 1_000 });
  });

  it("refills smoothly", () => {
    const results = run(shape, [...Array.from({ length: 5 }, () => t0), t0 + 199, t0 + 200, t0 + 201, t0 + 400]);
    expect(results.slice(5).map((result) => result.allowed)).toEqual([false, true, false, true]);
  });

  it("holds exactly points in a window even when windowMs / points is not a whole number", () => {
    const odd: LimitShape = { algorithm: "token-bucket", points: 3, windowMs: 1_000 };
    expect(run(odd, [t0, t0, t0, t0]).map((result) => result.allowed)).toEqual([true, true, true, false]);
    expect(run(odd, [t0, t0, t0, t0]).map((result) => result.remaining)).toEqual([2, 1, 0, 0]);
  });
});
