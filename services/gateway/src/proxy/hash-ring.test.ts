import { describe, expect, it } from "vitest";
import { hash32, HashRing } from "./hash-ring.js";

const keys = Array.from({ length: 10_000 }, (_, index) => `consumer-${index}`);
const ringOf = (ids: string[]) => new HashRing(ids.map((id) => ({ id, weight: 1, value: id })));
const assign = (ring: HashRing<string>) => new Map(keys.map((key) => [key, ring.lookup(hash32(key))]));

describe("HashRing", () => {
  it("spreads keys over the targets roughly evenly", () => {
    const owners = assign(ringOf(["a", "b", "c", "d"]));
    const counts = new Map<string, number>();
    for (const owner of owners.values()) counts.set(owner as string, (counts.get(owner as string) ?? 0) + 1);
    for (const count of counts.values()) expect(count).toBeGreaterThan(2_000);
  });

  it("removing a target remaps only the keys it owned, and adding it back restores them", () => {
    const before = assign(ringOf(["a", "b", "c", "d"]));
    const after = assign(ringOf(["a", "b", "d"]));
    for (const key of keys) {
      if (before.get(key) === "c") expect(after.get(key)).not.toBe("c");
      else expect(after.get(key)).toBe(before.get(key));
    }
    expect(assign(ringOf(["a", "b", "c", "d"]))).toEqual(before);
  });

  it("skips an owner it may not use to the next one, for that key only", () => {
    const ring = ringOf(["a", "b", "c"]);
    for (const key of keys.slice(0, 500)) {
      const owner = ring.lookup(hash32(key));
      const fallback = ring.lookup(hash32(key), (candidate) => candidate !== "b");
      expect(fallback).not.toBe("b");
      if (owner !== "b") expect(fallback).toBe(owner);
    }
    expect(ring.lookup(1, () => false)).toBeNull();
  });
});
