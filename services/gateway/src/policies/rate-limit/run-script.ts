import type { Redis } from "ioredis";
import { RedisTimeoutError } from "./with-timeout.js";

/**
 * Runs a Lua script by its SHA1 (EVALSHA), loading it with EVAL the first time a
 * server does not know it (after a restart, for example), and fails after `timeoutMs`.
 * A string the script returns comes back as a Buffer, as it was sent.
 *
 * One promise and one timer per call, and the NOSCRIPT retry inside it rather than in
 * a promise of its own: this runs on every request of a route with Redis-backed limits.
 */
export function runScript(
  client: Redis,
  { script, sha }: { script: string; sha: string },
  keys: readonly string[],
  args: readonly (string | number)[],
  timeoutMs: number,
): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisTimeoutError(timeoutMs)), timeoutMs);
    const done = (value: unknown): void => {
      clearTimeout(timer);
      resolve(value);
    };
    const failed = (error: unknown): void => {
      clearTimeout(timer);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the command's own failure, passed on unchanged
      reject(error);
    };
    client.callBuffer("evalsha", sha, keys.length, ...keys, ...args).then(done, (error: unknown) => {
      if (error instanceof Error && error.message.startsWith("NOSCRIPT")) client.callBuffer("eval", script, keys.length, ...keys, ...args).then(done, failed);
      else failed(error);
    });
  });
}
