import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Redis for the end-to-end suites, through `redis-cli` (it comes with redis-server), so
 * this workspace needs no Redis client library of its own. The machine's shared Redis is
 * used under a unique key prefix, and the keys are deleted afterwards; it is never stopped.
 */
export const sharedRedisUrl = process.env.TOLLGATE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export function uniqueRedisPrefix(label: string): string {
  return `tollgate-test:${label}:${randomUUID()}:`;
}

/** Runs one command; returns redis-cli's raw output, trimmed. */
export async function redisCli(url: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run("redis-cli", ["-u", url, "--raw", ...args], { timeout: 10_000 });
    return stdout.trim();
  } catch (error) {
    throw new Error(`redis-cli ${args.join(" ")} against ${url} failed (is Redis running? apt-get install -y redis-server): ${(error as Error).message}`);
  }
}

/** GET as a number; null when the key does not exist. */
export async function redisGetNumber(url: string, key: string): Promise<number | null> {
  const value = await redisCli(url, "GET", key);
  return value === "" ? null : Number(value);
}

/** Every key under `prefix`. */
export async function redisKeys(url: string, prefix: string): Promise<string[]> {
  const output = await redisCli(url, "--scan", "--pattern", `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`);
  return output === "" ? [] : output.split("\n");
}

/** Deletes every key under `prefix`. */
export async function redisDeleteKeys(url: string, prefix: string): Promise<void> {
  const keys = await redisKeys(url, prefix);
  for (let at = 0; at < keys.length; at += 500) await redisCli(url, "DEL", ...keys.slice(at, at + 500));
}
