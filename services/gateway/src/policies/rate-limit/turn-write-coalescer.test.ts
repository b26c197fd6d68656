import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LimitCheck } from "./limiter-store.js";
import { RedisLimiterStore } from "./redis-limiter-store.js";
import { connectSharedRedis, deleteKeys, uniquePrefix } from "./test-support/shared-redis.js";

/** Counts the writes that reach the client's socket (a corked socket hands its chunks to _writev in one call). */
function countSocketWrites(client: Redis): { count: () => number } {
  const stream = client.stream as unknown as { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
  let writes = 0;
  const write = stream._write.bind(stream);
  const writev = stream._writev.bind(stream);
  stream._write = (...args) => {
    writes++;
    write(...args);
  };
  stream._writev = (...args) => {
    writes++;
    writev(...args);
  };
  return { count: () => writes };
}

describe("TurnWriteCoalescer, through RedisLimiterStore on the shared Redis", () => {
  const prefix = uniquePrefix("coalescer");
  let client: Redis;

  beforeAll(async () => {
    client = await connectSharedRedis();
  });

  afterAll(async () => {
    await deleteKeys(client, prefix);
    client.disconnect();
  });

  const check = (name: string): LimitCheck => ({ key: `${prefix}${name}`, shape: { algorithm: "fixed-window", points: 1_000, windowMs: 60_000 } });

  it("sends the commands of one turn of the event loop in one socket write, and each gets its own answer", async () => {
    const store = new RedisLimiterStore({ client, timeoutMs: 5_000 });
    await store.consume([check("warm")], 1); // the script is loaded
    const writes = countSocketWrites(client);

    const verdicts = await Promise.all(Array.from({ length: 50 }, (_, i) => store.consume([check(i % 2 === 0 ? "even" : "odd")], 1)));
    expect(writes.count()).toBe(1);
    expect(verdicts.filter((_, i) => i % 2 === 0).map(([verdict]) => verdict!.remaining)).toEqual(Array.from({ length: 25 }, (_, n) => 1_000 - n - 1));
    expect(verdicts.every(([verdict]) => verdict!.allowed)).toBe(true);

    // The next turn's commands leave in a write of their own.
    const [next] = await store.consume([check("even")], 1);
    expect(writes.count()).toBe(2);
    expect(next!.remaining).toBe(1_000 - 26);
  });
});
