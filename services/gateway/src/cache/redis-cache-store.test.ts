import { once } from "node:events";
import { createServer } from "node:net";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient } from "../policies/rate-limit/redis-connection-config.js";
import { connectSharedRedis, deleteKeys, uniquePrefix } from "../policies/rate-limit/test-support/shared-redis.js";
import { captureLogger } from "../test-support/fakes.js";
import type { CacheEntry } from "./cache-entry.js";
import { decodeEntry, encodeEntry, RedisCacheStore } from "./redis-cache-store.js";

const clock = { epochMs: () => Date.UTC(2026, 10, 26, 10, 0, 0) };

function entry(body: string | Buffer): CacheEntry {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  return {
    status: 203,
    headers: ["content-type", "application/json", "set-cookie", "a=1", "set-cookie", "b=2", "content-length", String(bytes.length)],
    body: bytes,
    storedAt: clock.epochMs(),
    initialAgeSeconds: 4,
    freshUntil: clock.epochMs() + 60_000,
    staleWhileRevalidateUntil: clock.epochMs() + 70_000,
    staleIfErrorUntil: clock.epochMs() + 80_000,
  };
}

describe("RedisCacheStore (the shared Redis, under a unique prefix)", () => {
  const keyPrefix = uniquePrefix("cache-store");
  let client: Redis;
  let store: RedisCacheStore;

  beforeAll(async () => {
    client = await connectSharedRedis();
    store = new RedisCacheStore({ client, keyPrefix, timeoutMs: 2_000, retryAfterMs: 1_000, clock });
  });

  afterAll(async () => {
    await deleteKeys(client, keyPrefix);
    client.disconnect();
  });

  async function stored(routeId: string, key: string): Promise<CacheEntry | undefined> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const found = await store.get(routeId, key);
      if (found !== undefined) return found;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return undefined;
  }

  it("round-trips an entry, binary body and repeated headers included, and lets Redis expire it", async () => {
    const body = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    store.set("orders", "h/orders?a=1\naccept=json", entry(body), clock.epochMs() + 80_000);
    const found = await stored("orders", "h/orders?a=1\naccept=json");
    expect(found).toEqual(entry(body));
    const ttl = await client.pttl(`${keyPrefix}orders|h/orders?a=1\naccept=json`);
    expect(ttl).toBeGreaterThan(70_000);
    expect(ttl).toBeLessThanOrEqual(80_000);
  });

  it("purges by route, by key prefix, and both; a glob character in the prefix is literal", async () => {
    for (const [route, key] of [
      ["a", "h/x/1"],
      ["a", "h/y/1"],
      ["b", "h/x/2"],
      ["b", "h/*/1"],
    ] as const) {
      store.set(route, key, entry(key), clock.epochMs() + 60_000);
      await stored(route, key);
    }
    expect(await store.purge({ routeId: "b", keyPrefix: "h/*" })).toBe(1);
    expect(await store.get("b", "h/x/2")).toBeDefined();
    expect(await store.purge({ keyPrefix: "h/x/" })).toBe(2);
    expect(await store.purge({ routeId: "a" })).toBe(1);
    expect(await client.keys(`${keyPrefix}a|*`)).toEqual([]);
  });

  it("reads a value it cannot decode as a miss", async () => {
    await client.set(`${keyPrefix}r|garbage`, "not an entry");
    expect(await store.get("r", "garbage")).toBeUndefined();
    expect(decodeEntry(encodeEntry(entry("x")))).toEqual(entry("x"));
  });

  it("treats an unreachable Redis as misses: fast, logged once, and skipped for retryAfterMs", async () => {
    const server = createServer((socket) => socket.destroy());
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    server.close();
    await once(server, "close");
    const log = captureLogger();
    const down = createRedisClient(`redis://127.0.0.1:${port}`);
    const outage = new RedisCacheStore({ client: down, keyPrefix, timeoutMs: 100, retryAfterMs: 60_000, clock, logger: log.logger, ownsClient: true });
    try {
      const started = performance.now();
      const results = [];
      for (let index = 0; index < 20; index++) results.push(await outage.get("r", `k${index}`));
      expect(results.every((result) => result === undefined)).toBe(true);
      // One lookup waits out the timeout at most; the rest are skipped.
      expect(performance.now() - started).toBeLessThan(1_000);
      outage.set("r", "k", entry("x"), clock.epochMs() + 1_000);
      const warnings = log.lines().filter((line) => line.level === "warn");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.msg).toMatch(/Redis unavailable/);
    } finally {
      await outage.close();
    }
  });
});
