import { describe, expect, it } from "vitest";
import { NonceCache } from "./nonce-cache.js";

describe("NonceCache", () => {
  it("refuses a nonce while it is live (its last instant included) and forgets it afterwards", () => {
    const cache = new NonceCache(10);
    expect(cache.claim("k\nn1", 1_000, 0)).toBe("fresh");
    expect(cache.claim("k\nn1", 1_000, 500)).toBe("replayed");
    expect(cache.claim("k\nn1", 1_000, 1_000)).toBe("replayed");
    expect(cache.claim("k\nn1", 2_001, 1_001)).toBe("fresh");
  });

  it("drops expired entries as new ones arrive, so it stays small", () => {
    const cache = new NonceCache(10);
    for (let index = 0; index < 100; index++) expect(cache.claim(`n${index}`, index * 10 + 5, index * 10)).toBe("fresh");
    expect(cache.size).toBeLessThanOrEqual(2);
  });

  it("says full instead of forgetting a live nonce, and sweeps out-of-order expiries", () => {
    const cache = new NonceCache(3);
    expect(cache.claim("long", 10_000, 0)).toBe("fresh");
    expect(cache.claim("short-1", 100, 0)).toBe("fresh");
    expect(cache.claim("short-2", 100, 0)).toBe("fresh");
    expect(cache.claim("x", 10_000, 50)).toBe("full");
    expect(cache.claim("x", 10_000, 2_000)).toBe("fresh");
    expect(cache.claim("long", 10_000, 2_000)).toBe("replayed");
  });
});
