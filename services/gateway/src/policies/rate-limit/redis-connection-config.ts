import { createRequire } from "node:module";
import type { Logger } from "@tollgate/observability";
import type * as ioredis from "ioredis";
import type { Redis } from "ioredis";
import { z } from "zod";

export const RedisConnectionConfig = z.strictObject({
  url: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, "expected redis://[user:password@]host:port[/db] or rediss://…")
    .describe("The Redis every gateway shares (REDIS_URL). May hold a password: it is never logged"),
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(50)
    .describe("A Redis call slower than this counts as a failure, and the request is decided without Redis"),
  retryAfterMs: z
    .number()
    .int()
    .min(10)
    .max(60_000)
    .default(1_000)
    .describe("After a failure, how long requests are decided without Redis before it is tried again"),
});

export type RedisConnectionConfig = z.infer<typeof RedisConnectionConfig>;

/**
 * An ioredis client set up to fail fast, which is what a limiter with a fallback needs:
 * - no offline queue: while disconnected, a command fails at once instead of waiting
 *   for a reconnect with the request held;
 * - no retry of commands in flight when the connection drops: the limiter decides that
 *   request without Redis rather than counting it twice later;
 * - reconnects forever in the background, at most one attempt a second.
 *
 * Connection errors are logged at debug level only: the policies using the client log
 * an outage once when it starts and once when it ends, with what they did meanwhile.
 */
export function createRedisClient(url: string, options: { logger?: Logger } = {}): Redis {
  // Loaded on first use: a gateway without Redis never pays for ioredis (about 5 MB).
  const { Redis: RedisClient } = createRequire(import.meta.url)("ioredis") as typeof ioredis;
  const client = new RedisClient(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
  client.on("error", (error: Error) => options.logger?.debug({ err: error }, "redis connection error"));
  return client;
}
