import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";

/** The Redis the benches' Redis arms use: REDIS_URL, or the machine's default. */
export const benchRedisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

function redisCli(...args: string[]): string {
  return execFileSync("redis-cli", ["-u", benchRedisUrl, "--raw", ...args], { encoding: "utf8", timeout: 10_000 }).trim();
}

/** Checks that the Redis answers, and returns a key prefix of this run's own. */
export function benchRedisPrefix(): string {
  if (redisCli("PING") !== "PONG") throw new Error(`Redis at ${benchRedisUrl} does not answer PING (set REDIS_URL, or start redis-server)`);
  return `tollgate-bench:${randomUUID()}:`;
}

/** Removes the run's keys (those under `prefix`) from the shared Redis. */
export function deleteBenchRedisKeys(prefix: string): void {
  const keys = redisCli("--scan", "--pattern", `${prefix}*`).split("\n").filter((key) => key !== "");
  for (let at = 0; at < keys.length; at += 500) redisCli("DEL", ...keys.slice(at, at + 500));
}
