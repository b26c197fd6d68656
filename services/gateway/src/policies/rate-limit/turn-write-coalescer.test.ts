import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisQuotaCounterStore } from "../quota/redis-quota-counter-store.js";
import { countSocketWrites } from "./test-support/count-socket-writes.js";
import { connectSharedRedis, deleteKeys, uniquePrefix } from "./test-support/shared-redis.js";

describe("TurnWriteCoalescer, through RedisQuotaCounterStore on the shared Redis", () => {
  const prefix = uniquePrefix("coalescer");
  let client: Redis;

  beforeAll(async () => {
    client = await connectSharedRedis();
  });

  afterAll(async () => {
    await deleteKeys(client, prefix);
    client.disconnect();
  });

  it("sends the commands of one turn of the event loop in one socket write, and each gets its own answer", async () => {
    const store = new RedisQuotaCounterStore({ client, timeoutMs: 5_000 });
    const expiresAt = Date.now() + 60_000;
    await store.consume(`${prefix}warm`, 1, 1_000, "hard", expiresAt); // rate-limiter-flexible's script is loaded
    const writes = countSocketWrites(client);

    const counts = await Promise.all(Array.from({ length: 50 }, (_, i) => store.consume(`${prefix}${i % 2 === 0 ? "even" : "odd"}`, 1, 1_000, "hard", expiresAt)));
    expect(writes.count()).toBe(1);
    expect(counts.filter((_, i) => i % 2 === 0).map((count) => count.used)).toEqual(Array.from({ length: 25 }, (_, n) => n + 1));
    expect(counts.every((count) => count.admitted)).toBe(true);

    // The next turn's command leaves in a write of its own.
    const next = await store.consume(`${prefix}even`, 1, 1_000, "hard", expiresAt);
    expect(writes.count()).toBe(2);
    expect(next.used).toBe(26);
  });
});
