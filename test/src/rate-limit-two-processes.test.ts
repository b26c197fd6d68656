import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisDeleteKeys, sharedRedisUrl, uniqueRedisPrefix } from "./support/redis-cli.js";
import { waitFor } from "./support/wait-for.js";

const rateLimitDist = new URL("../../services/gateway/dist/policies/rate-limit/", import.meta.url);

/**
 * One "gateway": the built MultiLimiter on its own Redis connection, in its own process.
 * It connects, says ready, waits for "go" on stdin, fires its share of the requests at
 * once, and prints how many were admitted. Plain JavaScript written to the temp folder
 * (this workspace is type-checked, not built).
 */
const childSource = `
import { createInterface } from "node:readline";
const [limiterUrl, storeUrl, connectionUrl, options] = process.argv.slice(2);
const { MultiLimiter } = await import(limiterUrl);
const { RedisLimiterStore } = await import(storeUrl);
const { createRedisClient } = await import(connectionUrl);
const { redisUrl, keyPrefix, count, algorithm } = JSON.parse(options);
const client = createRedisClient(redisUrl);
await new Promise((resolve) => (client.status === "ready" ? resolve() : client.once("ready", resolve)));
const limiter = new MultiLimiter({ store: new RedisLimiterStore({ client, timeoutMs: 5000 }), keyPrefix });
const rules = [{ source: "plan/gold", name: "hourly", points: 100, windowSeconds: 3600, algorithm, scope: "consumer" }];
const subject = { routeId: "orders", clientIp: "203.0.113.7", consumerId: "alice", planId: "gold" };
console.log(JSON.stringify({ ready: true }));
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== "go") continue;
  const decisions = await Promise.all(Array.from({ length: count }, () => limiter.decide(rules, subject)));
  console.log(JSON.stringify({
    admitted: decisions.filter((d) => d.allowed).length,
    limited: decisions.filter((d) => d.outcome === "limited").length,
    byStore: decisions.filter((d) => d.decidedBy === "store").length,
  }));
  client.disconnect();
  process.exit(0);
}
`;

interface Result {
  admitted: number;
  limited: number;
  byStore: number;
}

function startGateway(script: string, options: Record<string, unknown>): { child: ChildProcess; next(): Promise<Record<string, unknown>>; output: string[] } {
  const child = spawn(
    process.execPath,
    [
      script,
      new URL("multi-limiter.js", rateLimitDist).href,
      new URL("redis-limiter-store.js", rateLimitDist).href,
      new URL("redis-connection-config.js", rateLimitDist).href,
      JSON.stringify(options),
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  const output: string[] = [];
  const queue: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    output.push(line);
    queue.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => output.push(chunk));
  return { child, output, next: () => waitFor(`a line from the gateway process (output: ${output.join(" ")})`, () => queue.shift(), 20_000, 2) };
}

describe("rate limit: two gateway processes on one Redis", () => {
  const prefix = uniqueRedisPrefix("rate-limit-processes");
  let dir: string;
  let script: string;

  beforeAll(async () => {
    expect(existsSync(new URL("multi-limiter.js", rateLimitDist)), `${fileURLToPath(rateLimitDist)} is missing: npx turbo run build --filter=@tollgate/gateway`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), "tollgate-rl-processes-"));
    script = join(dir, "gateway-limiter.mjs");
    writeFileSync(script, childSource);
  });

  afterAll(async () => {
    await redisDeleteKeys(sharedRedisUrl, prefix);
    await rm(dir, { recursive: true, force: true });
  });

  it.for(["fixed-window", "sliding-window", "token-bucket"])(
    "%s: 1,000 requests at once, 500 from each process, against a limit of 100 admit exactly 100",
    async (algorithm, { annotate }) => {
      const options = { redisUrl: sharedRedisUrl, keyPrefix: `${prefix}${algorithm}:`, count: 500, algorithm };
      const gateways = [startGateway(script, options), startGateway(script, options)];
      try {
        for (const gateway of gateways) expect(await gateway.next()).toEqual({ ready: true });
        for (const gateway of gateways) gateway.child.stdin?.write("go\n");
        const results = (await Promise.all(gateways.map((gateway) => gateway.next()))) as unknown as Result[];
        expect(results.reduce((sum, result) => sum + result.admitted, 0)).toBe(100);
        expect(results.reduce((sum, result) => sum + result.limited, 0)).toBe(900);
        expect(results.every((result) => result.byStore === 500)).toBe(true);
        const report = `admitted ${results.map((result) => result.admitted).join(" + ")} = 100 of 1,000`;
        console.info(`rate limit, two processes, ${algorithm}: ${report}`);
        await annotate(report);
      } finally {
        for (const { child } of gateways) {
          if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
            const exited = once(child, "exit");
            // child.kill, unlike process.kill, does not throw when the child has just exited.
            child.kill("SIGKILL");
            await exited;
          }
        }
      }
    },
  );
});
