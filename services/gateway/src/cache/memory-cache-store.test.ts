import { describe, expect, it } from "vitest";
import type { CacheEntry } from "./cache-entry.js";
import { MemoryCacheStore } from "./memory-cache-store.js";

function entry(body: string, freshUntil = 10_000): CacheEntry {
  return {
    status: 200,
    headers: ["content-length", String(body.length)],
    body: Buffer.from(body),
    storedAt: 0,
    initialAgeSeconds: 0,
    freshUntil,
    staleWhileRevalidateUntil: freshUntil,
    staleIfErrorUntil: freshUntil,
  };
}

function clockAt(start: number): { epochMs(): number; now: number } {
  const clock = { now: start, epochMs: () => clock.now };
  return clock;
}

describe("MemoryCacheStore", () => {
  it("returns what was stored until its retention ends, then drops it", () => {
    const clock = clockAt(0);
    const store = new MemoryCacheStore(1_048_576, clock);
    const stored = entry("hello");
    store.set("r", "h/p", stored, 5_000);
    expect(store.get("r", "h/p")).toBe(stored);
    expect(store.get("other", "h/p")).toBeUndefined();
    clock.now = 5_000;
    expect(store.get("r", "h/p")).toBeUndefined();
    expect(store.entries).toBe(0);
  });

  it("stays within maxBytes, evicting the least recently used entries first", () => {
    const store = new MemoryCacheStore(4_096, clockAt(0));
    const body = "x".repeat(1_000);
    for (const key of ["a", "b", "c"]) store.set("r", key, entry(body), 10_000);
    // Reading "a" makes "b" the least recently used.
    store.get("r", "a");
    store.set("r", "d", entry(body), 10_000);
    expect(store.bytes).toBeLessThanOrEqual(4_096);
    expect(store.get("r", "b")).toBeUndefined();
    expect(store.get("r", "a")).toBeDefined();
    expect(store.get("r", "d")).toBeDefined();
  });

  it("does not store an entry larger than the whole store", () => {
    const store = new MemoryCacheStore(2_048, clockAt(0));
    store.set("r", "big", entry("x".repeat(4_000)), 10_000);
    expect(store.get("r", "big")).toBeUndefined();
  });

  it("purges by route, by key prefix, or both", async () => {
    const store = new MemoryCacheStore(1_048_576, clockAt(0));
    for (const [route, key] of [
      ["a", "h/x/1"],
      ["a", "h/y/1"],
      ["b", "h/x/2"],
      ["b", "g/x/1"],
    ] as const) {
      store.set(route, key, entry(key), 10_000);
    }
    expect(await store.purge({ routeId: "a", keyPrefix: "h/x" })).toBe(1);
    expect(await store.purge({ keyPrefix: "h/x" })).toBe(1);
    expect(store.get("b", "g/x/1")).toBeDefined();
    expect(await store.purge({ routeId: "b" })).toBe(1);
    expect(store.get("a", "h/y/1")).toBeDefined();
    expect(store.entries).toBe(1);
  });
});
