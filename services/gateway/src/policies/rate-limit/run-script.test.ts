import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScript } from "./run-script.js";
import { PrivateRedisServer } from "./test-support/private-redis-server.js";
import { RedisTimeoutError } from "./with-timeout.js";

const script = "return redis.call('INCRBY', KEYS[1], ARGV[1])";

describe("runScript on a Redis of its own", () => {
  let redis: PrivateRedisServer;
  let client: Redis;
  let sha = "";

  beforeAll(async () => {
    redis = await PrivateRedisServer.start();
    client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    sha = (await client.script("LOAD", script)) as string;
    await client.script("FLUSH");
  });

  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  it("loads a script the server does not know (NOSCRIPT) and then runs it by its SHA1", async () => {
    expect(await client.script("EXISTS", sha)).toEqual([0]);
    expect(await runScript(client, { script, sha }, ["counter"], [2], 1_000)).toBe(2);
    expect(await client.script("EXISTS", sha)).toEqual([1]);
    expect(await runScript(client, { script, sha }, ["counter"], [3], 1_000)).toBe(5);
  });

  it("passes a script error on, and fails with RedisTimeoutError when Redis does not answer in time", async () => {
    await expect(runScript(client, { script: "return redis.call('NOPE')", sha: "0".repeat(40) }, [], [], 1_000)).rejects.toThrow(/Unknown Redis command|unknown command/i);
    await redis.kill("SIGSTOP");
    try {
      await expect(runScript(client, { script, sha }, ["counter"], [1], 50)).rejects.toBeInstanceOf(RedisTimeoutError);
    } finally {
      await redis.kill("SIGCONT");
    }
  });
});
