import { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { createLogger, createMetricsRegistry } from "@tollgate/observability";
import type { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryLimiterStore } from "./memory-limiter-store.js";
import { MultiLimiter, type RateLimitDecision } from "./multi-limiter.js";
import { RateLimitMetrics } from "./rate-limit-metrics.js";
import { rateLimitRejection } from "./rate-limit-problems.js";
import type { StoreFailureMode } from "./rate-limit-policy-config.js";
import type { RateLimitRule, RateLimitSubject } from "./rate-limit-rule.js";
import { createRedisClient } from "./redis-connection-config.js";
import { RedisLimiterStore } from "./redis-limiter-store.js";
import { PrivateRedisServer } from "./test-support/private-redis-server.js";

const subject: RateLimitSubject = { routeId: "orders", clientIp: "203.0.113.7", consumerId: "alice", planId: "gold" };
const limit = 100;
const rules: RateLimitRule[] = [{ source: "plan/gold", name: "per-minute", points: limit, windowSeconds: 60, algorithm: "fixed-window", scope: "consumer" }];

interface Gateway {
  client: Redis;
  limiter: MultiLimiter;
  logs: Record<string, unknown>[];
  registry: ReturnType<typeof createMetricsRegistry>;
}

async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** A counter's value from the Prometheus text, summed over the series that match every label given. */
async function counter(gateway: Gateway, name: string, labels: Record<string, string>): Promise<number> {
  const text = await gateway.registry.getSingleMetricAsString(name);
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || !Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

describe("MultiLimiter when Redis dies mid-run (a private redis-server, never the shared one)", () => {
  let redis: PrivateRedisServer | undefined;
  const gateways: Gateway[] = [];

  afterEach(async () => {
    for (const gateway of gateways.splice(0)) gateway.client.disconnect();
    await redis?.stop();
    redis = undefined;
  });

  /** Two gateways: each its own client (the production options), insurance store, logger and metrics. */
  // The store timeout is generous (a busy machine can take longer than 50 ms for a burst,
  // and a Redis that was killed fails its calls at once), except where a test is about it.
  async function startGateways(mode: StoreFailureMode, divisor: number, timeoutMs = 1_000): Promise<Gateway[]> {
    redis = await PrivateRedisServer.start();
    for (let i = 0; i < 2; i++) {
      const client = createRedisClient(redis.url);
      await until("the client to connect", () => client.status === "ready");
      const logs: Record<string, unknown>[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          logs.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
          callback();
        },
      });
      const registry = createMetricsRegistry({ defaultMetrics: false });
      const limiter = new MultiLimiter({
        store: new RedisLimiterStore({ client, timeoutMs }),
        insurance: new MemoryLimiterStore({ sweepIntervalMs: 0 }),
        insurancePointsDivisor: divisor,
        onStoreFailure: mode,
        retryStoreAfterMs: 200,
        logger: createLogger({ name: `gw-${i}`, destination }),
        metrics: new RateLimitMetrics(registry),
      });
      gateways.push({ client, limiter, logs, registry });
    }
    return gateways;
  }

  async function burst(count: number): Promise<RateLimitDecision[]> {
    return Promise.all(Array.from({ length: count }, (_, i) => Promise.resolve(gateways[i % 2]!.limiter.decide(rules, subject))));
  }

  it.for([1, 2])("fail open (insurance pointsDivisor %i): keeps admitting in memory; the overshoot is bounded, logged and counted", async (divisor, { annotate }) => {
    await startGateways("open", divisor);
    const before = await burst(60);
    expect(before.filter((decision) => decision.allowed && decision.decidedBy === "store")).toHaveLength(60);

    await redis!.kill("SIGKILL");
    const during = await burst(400);
    const admittedInMemory = during.filter((decision) => decision.allowed).length;
    expect(during.every((decision) => decision.decidedBy === "insurance")).toBe(true);

    // Each gateway admits at most floor(limit / divisor) per window on its own.
    const share = Math.floor(limit / divisor);
    expect(admittedInMemory).toBe(2 * share);
    const admitted = 60 + admittedInMemory;
    const overshoot = Math.max(0, admitted - limit);
    const bound = 2 * share;
    expect(overshoot).toBeLessThanOrEqual(bound);
    // Refusals in memory still name the limit.
    const refused = during.find((decision) => !decision.allowed)!;
    expect(rateLimitRejection(refused)).toMatchObject({ limit: "per-minute", problem: { status: 429 } });

    // Counted: the metric of insurance admissions is the overshoot's upper bound, per gateway.
    const counted = (await Promise.all(gateways.map((gateway) => counter(gateway, "tollgate_rate_limit_decisions_total", { decided_by: "insurance", outcome: "admitted" })))).reduce((a, b) => a + b, 0);
    expect(counted).toBe(admittedInMemory);
    for (const gateway of gateways) {
      expect(await counter(gateway, "tollgate_rate_limit_store_failures_total", {})).toBeGreaterThanOrEqual(1);
      // Logged once when the outage starts, not once per request.
      expect(gateway.logs.filter((line) => String(line.msg).startsWith("rate limit store unavailable"))).toHaveLength(1);
    }

    // Redis comes back, empty (no persistence): each gateway returns to it within retryStoreAfterMs, and says what it admitted meanwhile.
    await redis!.restart();
    for (const gateway of gateways) {
      await until("the gateway to decide with Redis again", async () => (await gateway.limiter.decide(rules, subject)).decidedBy === "store");
      const recovered = gateway.logs.find((line) => String(line.msg).startsWith("rate limit store answers again"));
      expect(recovered).toMatchObject({ admittedInMemory: share, level: "warn" });
    }
    const report =
      `limit ${limit}/min over 2 gateways, insurance share ${share} each: ${60} admitted via Redis before the kill, ` +
      `${admittedInMemory} admitted in memory during the outage (of 400): ${admitted} in the window, overshoot ${overshoot} (bound ${bound})`;
    console.info(`rate limit outage, fail open: ${report}`);
    await annotate(report);
  });

  it("fail closed: refuses with 503 while Redis is down, so nothing is admitted beyond the limit", async ({ annotate }) => {
    await startGateways("closed", 1);
    expect((await burst(60)).every((decision) => decision.allowed)).toBe(true);
    await redis!.kill("SIGKILL");
    const during = await burst(400);
    expect(during.every((decision) => decision.outcome === "unavailable" && !decision.allowed)).toBe(true);
    expect(rateLimitRejection(during[0]!)).toMatchObject({ problem: { status: 503, code: "rate-limit-unavailable" }, limit: null });
    expect(during[0]!.headers).toEqual({ "retry-after": "1" });
    for (const gateway of gateways) expect(await counter(gateway, "tollgate_rate_limit_decisions_total", { outcome: "unavailable" })).toBe(200);

    await redis!.restart();
    await until("the gateways to decide with Redis again", async () =>
      (await Promise.all(gateways.map(async (gateway) => (await gateway.limiter.decide(rules, subject)).decidedBy === "store"))).every(Boolean),
    );
    const report = "60 admitted before the kill, 400 refused with 503 during the outage: overshoot 0";
    console.info(`rate limit outage, fail closed: ${report}`);
    await annotate(report);
  });

  it("a Redis that stops answering (SIGSTOP) costs one timeout, then requests are decided in memory at once", async ({ annotate }) => {
    await startGateways("open", 1, 50);
    const gateway = gateways[0]!;
    expect((await gateway.limiter.decide(rules, subject)).decidedBy).toBe("store");

    await redis!.kill("SIGSTOP");
    let started = performance.now();
    const first = await gateway.limiter.decide(rules, subject);
    const firstMs = performance.now() - started;
    expect(first.decidedBy).toBe("insurance");
    expect(firstMs).toBeGreaterThanOrEqual(45);
    expect(firstMs).toBeLessThan(500);
    started = performance.now();
    const next = await gateway.limiter.decide(rules, subject);
    const nextMs = performance.now() - started;
    expect(next.decidedBy).toBe("insurance");
    expect(nextMs).toBeLessThan(20);

    await redis!.kill("SIGCONT");
    await until("the gateway to decide with Redis again", async () => (await gateway.limiter.decide(rules, subject)).decidedBy === "store");
    const report = `first decision ${firstMs.toFixed(0)} ms (the 50 ms timeout), the next ${nextMs.toFixed(2)} ms in memory`;
    console.info(`rate limit outage, frozen Redis: ${report}`);
    await annotate(report);
  });
});
