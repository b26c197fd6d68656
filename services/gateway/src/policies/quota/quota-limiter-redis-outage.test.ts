import { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { createLogger } from "@tollgate/observability";
import type { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import type { StoreFailureMode } from "../rate-limit/rate-limit-policy-config.js";
import { createRedisClient } from "../rate-limit/redis-connection-config.js";
import { PrivateRedisServer } from "../rate-limit/test-support/private-redis-server.js";
import { MemoryQuotaCounterStore } from "./memory-quota-counter-store.js";
import { QuotaLimiter, type QuotaDecision, type QuotaSubject } from "./quota-limiter.js";
import { quotaRejection } from "./quota-problems.js";
import { RedisQuotaCounterStore } from "./redis-quota-counter-store.js";

const quota = 100;
const subject: QuotaSubject = { subscriptionId: "sub-1", quota: { limit: quota, period: "day", enforcement: "hard" } };

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

describe("QuotaLimiter when Redis dies mid-run (a private redis-server, never the shared one)", () => {
  let redis: PrivateRedisServer | undefined;
  const clients: Redis[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await redis?.stop();
    redis = undefined;
  });

  async function gateways(mode: StoreFailureMode, divisor: number): Promise<{ limiter: QuotaLimiter; logs: Record<string, unknown>[] }[]> {
    redis = await PrivateRedisServer.start();
    const result = [];
    for (let i = 0; i < 2; i++) {
      const client = createRedisClient(redis.url);
      clients.push(client);
      await until("the client to connect", () => client.status === "ready");
      const logs: Record<string, unknown>[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          logs.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
          callback();
        },
      });
      const limiter = new QuotaLimiter({
        // Generous: a busy machine can take longer than 50 ms for a burst; a killed Redis fails at once.
        store: new RedisQuotaCounterStore({ client, timeoutMs: 1_000 }),
        insurance: new MemoryQuotaCounterStore(),
        insuranceDivisor: divisor,
        onStoreFailure: mode,
        retryStoreAfterMs: 200,
        logger: createLogger({ name: `gw-${i}`, destination }),
      });
      result.push({ limiter, logs });
    }
    return result;
  }

  it.for([1, 2])("fail open (insurance divisor %i): counts in memory from the last value seen; the overshoot is bounded", async (divisor, { annotate }) => {
    const pair = await gateways("open", divisor);
    const run = (count: number): Promise<QuotaDecision[]> =>
      Promise.all(Array.from({ length: count }, (_, i) => Promise.resolve(pair[i % 2]!.limiter.consume(subject))));
    // One at a time per gateway, so each gateway's last seen value is known: 59 and 60.
    for (let i = 0; i < 60; i++) expect((await pair[i % 2]!.limiter.consume(subject)).allowed).toBe(true);

    await redis!.kill("SIGKILL");
    const during = await run(400);
    expect(during.every((decision) => decision.decidedBy === "insurance")).toBe(true);
    const admittedInMemory = during.filter((decision) => decision.allowed).length;
    // Each gateway allows 1/divisor of what it last saw left: floor(41 / d) + floor(40 / d).
    const expected = Math.floor((quota - 59) / divisor) + Math.floor((quota - 60) / divisor);
    expect(admittedInMemory).toBe(expected);
    const overshoot = Math.max(0, 60 + admittedInMemory - quota);
    // Bound: gateways × (what was left) / divisor, minus what was really left.
    expect(overshoot).toBeLessThanOrEqual(Math.ceil((2 * (quota - 59)) / divisor));
    expect(quotaRejection(during.find((decision) => !decision.allowed)!)).toMatchObject({ limit: "daily-quota" });
    for (const { logs } of pair) expect(logs.filter((line) => String(line.msg).startsWith("quota store unavailable"))).toHaveLength(1);

    await redis!.restart();
    for (const { limiter, logs } of pair) {
      await until("the gateway to decide with Redis again", async () => (await limiter.consume(subject)).decidedBy === "store");
      expect(logs.find((line) => String(line.msg).startsWith("quota store answers again"))).toHaveProperty("admittedInMemory");
    }
    const report =
      `quota ${quota}/day over 2 gateways, divisor ${divisor}: 60 admitted via Redis, ${admittedInMemory} admitted in memory ` +
      `during the outage (of 400): overshoot ${overshoot}; Redis restarted empty: the quota projector restores the counter from the log`;
    console.info(`quota outage, fail open: ${report}`);
    await annotate(report);
  });

  it("fail closed: refuses with 503 while Redis is down", async () => {
    const pair = await gateways("closed", 1);
    for (let i = 0; i < 10; i++) await pair[i % 2]!.limiter.consume(subject);
    await redis!.kill("SIGKILL");
    const during = await Promise.all(Array.from({ length: 100 }, (_, i) => Promise.resolve(pair[i % 2]!.limiter.consume(subject))));
    expect(during.every((decision) => decision.outcome === "unavailable")).toBe(true);
    expect(quotaRejection(during[0]!)).toMatchObject({ problem: { status: 503, code: "quota-unavailable" }, limit: null });
  });
});
