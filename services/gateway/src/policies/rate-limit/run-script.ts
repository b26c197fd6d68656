import type { Redis } from "ioredis";
import { withTimeout } from "./with-timeout.js";

/**
 * Runs a Lua script by its SHA1 (EVALSHA), loading it with EVAL the first time a
 * server does not know it (after a restart, for example), and fails after `timeoutMs`.
 * A string the script returns comes back as a Buffer, as it was sent.
 */
export function runScript(
  client: Redis,
  { script, sha }: { script: string; sha: string },
  keys: readonly string[],
  args: readonly (string | number)[],
  timeoutMs: number,
): Promise<unknown> {
  const reply = client.callBuffer("evalsha", sha, keys.length, ...keys, ...args).catch((error: unknown) => {
    if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
    return client.callBuffer("eval", script, keys.length, ...keys, ...args);
  });
  return withTimeout(reply, timeoutMs);
}
