import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { existsSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { streams } from "@tollgate/events";
import { type EventToAppend, SqliteEventStore } from "@tollgate/eventstore";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisGetNumber } from "./support/redis-cli.js";
import { PrivateRedisServer } from "./support/redis-server.js";
import { waitFor } from "./support/wait-for.js";

/**
 * The quota loop end to end, minus HTTP: the gateway's real QuotaLimiter (from the built
 * gateway; the pipeline does not call it yet) counts requests in Redis, two instances
 * with a client each; every request becomes its event in the log, as the gateway will
 * record it; the real quota projector process reconciles the counter from the log.
 * This is where the contract between the two services (the counter's key, the period,
 * what a refund means) is checked, since neither imports the other.
 */

const gatewayDist = new URL("../../services/gateway/dist/policies/quota/", import.meta.url);
const projectorMain = fileURLToPath(new URL("../../services/quota-projector/dist/main.js", import.meta.url));

interface QuotaSubject {
  subscriptionId: string;
  quota: { limit: number; period: "day" | "month"; enforcement: "hard" | "overage" };
}
interface QuotaDecision {
  allowed: boolean;
  outcome: string;
  name: string;
  decidedBy: string;
}
interface QuotaLimiter {
  consume(subject: QuotaSubject, options?: { at?: number }): QuotaDecision | Promise<QuotaDecision>;
  windowFor(subject: QuotaSubject, at?: number): { period: string; start: number; end: number };
  counterKey(subscriptionId: string, window: { period: string; start: number; end: number }): string;
}
interface RedisClient {
  status: string;
  disconnect(): void;
}
/** The part of the gateway's quota policy this test drives. */
interface GatewayQuota {
  QuotaLimiter: new (options: { store: unknown; keyPrefix: string; retryStoreAfterMs?: number }) => QuotaLimiter;
  RedisQuotaCounterStore: new (options: { client: RedisClient; timeoutMs?: number }) => unknown;
  createRedisClient: (url: string) => RedisClient;
}

async function loadGatewayQuota(): Promise<GatewayQuota> {
  const load = async (file: string): Promise<Record<string, unknown>> => (await import(new URL(file, gatewayDist).href)) as Record<string, unknown>;
  const [limiter, store, redis] = await Promise.all([
    load("quota-limiter.js"),
    load("redis-quota-counter-store.js"),
    load(new URL("../rate-limit/redis-connection-config.js", gatewayDist).href),
  ]);
  return {
    QuotaLimiter: limiter.QuotaLimiter as GatewayQuota["QuotaLimiter"],
    RedisQuotaCounterStore: store.RedisQuotaCounterStore as GatewayQuota["RedisQuotaCounterStore"],
    createRedisClient: redis.createRedisClient as GatewayQuota["createRedisClient"],
  };
}

const prefix = "tollgate:quota:";
const actor = { kind: "admin", id: "reconciliation-test" };
const gold = { limit: 500, period: "day" as const, enforcement: "hard" as const };

describe("quota: two gateways on one Redis counter, reconciled by the quota projector from the log", () => {
  let dir: string;
  let redis: PrivateRedisServer;
  let log: SqliteEventStore;
  let gateways: { limiter: QuotaLimiter; client: RedisClient; stream: string }[] = [];
  let projector: ChildProcess | undefined;
  const projectorLines: Record<string, unknown>[] = [];
  let statusPort = 0;
  let sequence = 0;

  beforeAll(async () => {
    for (const built of [new URL("quota-limiter.js", gatewayDist), new URL(`file://${projectorMain}`)]) {
      expect(existsSync(built), `${fileURLToPath(built)} is missing: npx turbo run build --filter=@tollgate/quota-projector... --filter=@tollgate/gateway`).toBe(true);
    }
    dir = await mkdtemp(join(tmpdir(), "tollgate-quota-e2e-"));
    redis = await PrivateRedisServer.start();
    const eventsFile = join(dir, "events.db");
    log = SqliteEventStore.open({ file: eventsFile, synchronous: "normal", busyTimeoutMs: 5_000 });
    const event = (type: string, data: Record<string, unknown>): EventToAppend => ({ id: randomUUID(), type, version: 1, data });
    await log.append(streams.plan("gold"), [
      event("PlanCreated", {
        planId: "gold",
        name: "Gold",
        description: "",
        public: true,
        rateLimits: [],
        quota: gold,
        routes: ["*"],
        scopes: [],
        price: { stripePriceId: null, stripeMeterEventName: null },
        actor,
      }),
    ]);
    for (const subscriptionId of ["sub-1", "sub-2"]) {
      await log.append(streams.subscription(subscriptionId), [event("SubscriptionStarted", { subscriptionId, consumerId: `c-${subscriptionId}`, planId: "gold", actor })]);
    }

    const quota = await loadGatewayQuota();
    for (const id of ["gw-a", "gw-b"]) {
      const client = quota.createRedisClient(redis.url);
      await waitFor("a gateway's Redis client to connect", () => client.status === "ready");
      const limiter = new quota.QuotaLimiter({ store: new quota.RedisQuotaCounterStore({ client, timeoutMs: 2_000 }), keyPrefix: prefix, retryStoreAfterMs: 100 });
      gateways.push({ limiter, client, stream: streams.requests(id) });
    }

    const configFile = join(dir, "quota-projector.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        eventStore: { kind: "sqlite", file: eventsFile },
        store: { file: join(dir, "quota.db") },
        redis: { url: redis.url, keyPrefix: prefix, sweepIntervalMs: 250 },
        runner: { maxBatchSize: 500, maxBatchWaitMs: 20 },
        status: { port: 0 },
      }),
    );
    projector = spawn(process.execPath, [projectorMain, "--config", configFile], { stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [projector.stdout!, projector.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        try {
          projectorLines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          projectorLines.push({ msg: line });
        }
      });
    }
    const listening = await waitFor("the projector to listen", () => projectorLines.find((line) => line.msg === "listening"), 20_000);
    statusPort = listening.statusPort as number;
  });

  afterAll(async () => {
    if (projector && projector.exitCode === null && projector.signalCode === null && projector.pid !== undefined) {
      const exited = once(projector, "exit");
      process.kill(projector.pid, "SIGTERM");
      await exited;
    }
    for (const gateway of gateways) gateway.client.disconnect();
    gateways = [];
    await log?.close();
    await redis?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * `count` concurrent requests for a subscription, alternating between the gateways. Each
   * admitted request completes with the status `statusOf` gives it; each refused one is
   * a RequestRejected at the quota stage naming the quota. Every request's event is
   * appended to its gateway's stream.
   */
  async function load(subscriptionId: string, count: number, statusOf: (admittedIndex: number) => number = () => 200): Promise<QuotaDecision[]> {
    const subject: QuotaSubject = { subscriptionId, quota: gold };
    const startedAt = Date.now();
    const decisions = await Promise.all(Array.from({ length: count }, (_, i) => Promise.resolve(gateways[i % 2]!.limiter.consume(subject, { at: startedAt }))));
    let admittedIndex = 0;
    const byStream = new Map<string, EventToAppend[]>();
    decisions.forEach((decision, i) => {
      const gateway = gateways[i % 2]!;
      const base = {
        requestId: `req-${(sequence += 1)}`,
        gatewayId: gateway.stream.slice("requests-".length),
        startedAt: new Date(startedAt).toISOString(),
        durationMs: 1,
        routeId: "orders",
        method: "GET",
        path: "/orders",
        routeTemplate: "/orders",
        clientIp: "203.0.113.7",
        bytesIn: 0,
        bytesOut: 2,
        controlPlaneVersion: null,
        consumerId: `c-${subscriptionId}`,
        credentialId: `k-${subscriptionId}`,
        planId: "gold",
        subscriptionId,
      };
      const data = decision.allowed
        ? { ...base, status: statusOf(admittedIndex++), upstream: "http://127.0.0.1:9", attempts: 1, upstreamLatencyMs: 1, cacheStatus: "none" }
        : { ...base, status: 429, stage: "quota", reason: `quota "${decision.name}" exceeded`, limit: decision.name };
      const events = byStream.get(gateway.stream) ?? [];
      events.push({ id: randomUUID(), type: decision.allowed ? "RequestCompleted" : "RequestRejected", version: 1, data });
      byStream.set(gateway.stream, events);
    });
    for (const [stream, events] of byStream) await log.append(stream, events);
    return decisions;
  }

  function counterKey(subscriptionId: string): string {
    const limiter = gateways[0]!.limiter;
    const subject: QuotaSubject = { subscriptionId, quota: gold };
    return limiter.counterKey(subscriptionId, limiter.windowFor(subject));
  }

  function projected(subscriptionId: string): { requests: number; admitted: number; billable: number } | undefined {
    const db = new Database(join(dir, "quota.db"), { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare<[string], { requests: number; admitted: number; billable: number }>("SELECT requests, admitted, billable FROM quota_usage WHERE subscription_id = ?")
        .get(subscriptionId);
    } finally {
      db.close();
    }
  }

  async function metric(name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
    const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}{`));
    return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(" ") + 1));
  }

  it("admits exactly 500 of 1,000 concurrent requests, and the counter then equals the billable events in the log", async () => {
    const decisions = await load("sub-1", 1_000);
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(500);
    expect(decisions.filter((decision) => decision.outcome === "exceeded" && decision.name === "daily-quota")).toHaveLength(500);
    await waitFor("the projector to count every request", () => projected("sub-1")?.requests === 1_000, 20_000);
    expect(projected("sub-1")).toEqual({ requests: 1_000, admitted: 500, billable: 500 });
    expect(await redisGetNumber(redis.url, counterKey("sub-1"))).toBe(500);
  });

  it("refunds the admitted requests the plan does not bill (upstream 5xx), and then admits exactly that many more", async ({ annotate }) => {
    const failing = 37;
    const first = await load("sub-2", 1_000, (index) => (index < failing ? 503 : 200));
    expect(first.filter((decision) => decision.allowed)).toHaveLength(500);
    const started = Date.now();
    // Each gateway's events are appended to its own stream in one go, and which gateway
    // admitted how many is up to Redis (each client's commands of a turn arrive
    // together), so the refunds can all be in the first stream the projector reads:
    // wait for the counter and for the projector to have counted every request.
    await waitFor(
      "the counter to be reconciled and every request counted",
      async () => (await redisGetNumber(redis.url, counterKey("sub-2"))) === 500 - failing && projected("sub-2")?.requests === 1_000,
      20_000,
    );
    const reconciledMs = Date.now() - started;
    expect(projected("sub-2")).toEqual({ requests: 1_000, admitted: 500, billable: 500 - failing });

    const second = await load("sub-2", 1_000);
    expect(second.filter((decision) => decision.allowed)).toHaveLength(failing);
    await waitFor("the projector to count the second run", () => projected("sub-2")?.requests === 2_000, 20_000);
    expect(projected("sub-2")).toEqual({ requests: 2_000, admitted: 500 + failing, billable: 500 });
    expect(await redisGetNumber(redis.url, counterKey("sub-2"))).toBe(500);
    expect(await metric("tollgate_quota_reconcile_refunded_total")).toBe(failing);
    const report = `${failing} of 500 admitted requests answered 503 by the upstream: refunded within ${reconciledMs} ms of their events being appended; exactly ${failing} more admitted afterwards`;
    console.info(`quota reconciliation: ${report}`);
    await annotate(report);
  });

  it("restores the counters after Redis loses its data, so the quota holds again", async ({ annotate }) => {
    await redis.kill();
    await redis.restart();
    expect(await redisGetNumber(redis.url, counterKey("sub-1"))).toBeNull();
    const started = Date.now();
    await waitFor(
      "the projector's sweep to restore the counters",
      async () => (await redisGetNumber(redis.url, counterKey("sub-1"))) === 500 && (await redisGetNumber(redis.url, counterKey("sub-2"))) === 500,
      20_000,
      10,
    );
    const restoredMs = Date.now() - started;
    for (const gateway of gateways) await waitFor("the gateway's client to reconnect", () => gateway.client.status === "ready", 10_000);
    const after = await load("sub-1", 200);
    expect(after.every((decision) => decision.decidedBy === "store" && !decision.allowed)).toBe(true);
    expect(await metric("tollgate_quota_reconcile_restored_total")).toBe(1_000);
    const report = `Redis restarted empty: both counters restored to 500 from the log within ${restoredMs} ms (sweep every 250 ms); 0 of 200 further requests admitted`;
    console.info(`quota reconciliation: ${report}`);
    await annotate(report);
  });
});
