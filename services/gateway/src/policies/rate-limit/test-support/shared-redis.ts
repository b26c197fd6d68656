import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";

/** The machine's shared Redis. Tests use it under a unique key prefix and delete their keys; they never stop it. */
export const sharedRedisUrl = process.env.TOLLGATE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A prefix no other test run uses. */
export function uniquePrefix(label: string): string {
  return `tollgate-test:${label}:${randomUUID()}:`;
}

/** A client of the shared Redis, connected; fails with a clear message when Redis is not running. */
export async function connectSharedRedis(): Promise<Redis> {
  const client = new Redis(sharedRedisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: () => null });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new Error(
      `these tests need Redis at ${sharedRedisUrl} (apt-get install -y redis-server, or set TOLLGATE_TEST_REDIS_URL): ${(error as Error).message}`,
    );
  }
  return client;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(client: Redis, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1_000);
    cursor = next;
    if (keys.length > 0) deleted += await client.del(...keys);
  } while (cursor !== "0");
  return deleted;
}
