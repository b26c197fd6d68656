import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlaneProcess, type ControlPlaneProcess } from "./support/control-plane-process.js";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.js";
import { redisGetNumber } from "./support/redis-cli.js";
import { PrivateRedisServer } from "./support/redis-server.js";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.js";
import { waitFor } from "./support/wait-for.js";

type Json = Record<string, unknown>;

const adminToken = "e2e-gateway-limits-admin-token-7d1e9b0c4a";
const projectorMain = fileURLToPath(new URL("../../services/quota-projector/dist/main.js", import.meta.url));
const quotaPrefix = "tollgate:quota:";

interface Answer {
  status: number;
  headers: Headers;
  body: Json;
}

/**
 * Rate limits and quotas end to end, on real processes: a control plane, two gateways
 * sharing one SQLite log and one Redis (a private redis-server, so that it can be killed
 * at the end), the quota projector reconciling the Redis counters from the log, and a
 * real upstream.
 */
describe("rate limits and quotas across two gateway processes sharing Redis", () => {
  let redis: PrivateRedisServer;
  let upstream: UpstreamServer;
  let cp: ControlPlaneProcess;
  const gateways: GatewayProcess[] = [];
  let projector: ChildProcess | undefined;
  const projectorLines: string[] = [];
  const client = new Agent({ connections: 64, keepAliveTimeout: 5_000 });
  /** Upstream answers 503 to the first `failFirst` requests of a consumer. */
  const failFirst = new Map<string, number>();

  const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${cp.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  const call = async (gateway: GatewayProcess, path: string, key: string): Promise<Answer> => {
    const response = await request(`${gateway.url}${path}`, { headers: { "x-api-key": key }, dispatcher: client });
    const text = await response.body.text();
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) if (typeof value === "string") headers.set(name, value);
    return { status: response.statusCode, headers, body: text.startsWith("{") ? (JSON.parse(text) as Json) : {} };
  };

  /** `count` concurrent requests, alternating between the two gateways. */
  const burst = (count: number, path: string, key: string): Promise<Answer[]> =>
    Promise.all(Array.from({ length: count }, (_, index) => call(gateways[index % 2] as GatewayProcess, path, key)));

  /**
   * A consumer with a key and a subscription to `planId`; returns the key once both
   * gateways know it, with the probes' answers that got past authentication (they count
   * against the limits like any other request).
   */
  const subscriber = async (consumerId: string, planId: string): Promise<{ key: string; probes: Answer[] }> => {
    expect((await admin("POST", "/admin/consumers", { id: consumerId, name: consumerId })).status).toBe(201);
    expect((await admin("POST", "/admin/subscriptions", { id: `${consumerId}-sub`, consumerId, planId })).status).toBe(201);
    const issued = await admin("POST", `/admin/consumers/${consumerId}/api-keys`, { id: `${consumerId}-key`, name: "e2e" });
    expect(issued.status).toBe(201);
    const key = issued.body.secret as string;
    const probes: Answer[] = [];
    for (const gateway of gateways) {
      await waitFor(`${gateway.url} to know the key`, async () => {
        const answer = await call(gateway, "/orders/probe", key);
        if (answer.status === 401) return false;
        probes.push(answer);
        return true;
      });
    }
    return { key, probes };
  };

  const readEvents = (where: string): Json[] => {
    const db = new Database(cp.eventsFile, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare(`SELECT type, data FROM events WHERE ${where} ORDER BY position`).all() as { type: string; data: string }[]).map((row) => ({
        type: row.type,
        ...(JSON.parse(row.data) as Json),
      }));
    } finally {
      db.close();
    }
  };

  const requestEventsOf = (subscriptionOrConsumer: { consumerId: string }): Json[] =>
    readEvents(`type LIKE 'Request%' AND json_extract(data, '$.consumerId') = '${subscriptionOrConsumer.consumerId}'`);

  /** The consumer's request events, once all `count` of them are in the log. */
  const allEventsOf = async (consumerId: string, count: number): Promise<Json[]> => {
    let events: Json[] = [];
    await waitFor(`${count} request events of ${consumerId} in the log`, () => {
      events = requestEventsOf({ consumerId });
      return events.length === count;
    });
    return events;
  };

  const quotaCounter = (subscriptionId: string): Promise<number | null> => {
    const dayStart = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000).toISOString();
    return redisGetNumber(redis.url, `${quotaPrefix}${subscriptionId}:day:${dayStart}`);
  };

  beforeAll(async () => {
    redis = await PrivateRedisServer.start();
    upstream = await startUpstream((request, response) => {
      const consumer = String(request.headers["x-consumer-id"] ?? "");
      const left = failFirst.get(consumer) ?? 0;
      if (left > 0) failFirst.set(consumer, left - 1);
      const status = left > 0 ? 503 : 200;
      response.writeHead(status, { "content-type": "text/plain", "content-length": "2" });
      response.end(status === 200 ? "ok" : "no");
    });
    cp = await startControlPlaneProcess({ adminTokens: [{ name: "ops", token: adminToken, access: "write" }] });
    // Generous Redis timeouts: 1,000 requests at once on 2 shared cores must be decided by Redis, not by a timeout.
    const store = { kind: "redis", url: redis.url, timeoutMs: 5_000, retryAfterMs: 200 };
    for (const gatewayId of ["gw-a", "gw-b"]) {
      gateways.push(
        await startGatewayProcess({
          config: {
            gatewayId,
            eventStore: { kind: "sqlite", file: cp.eventsFile },
            upstreams: { orders: { targets: [upstream.url] } },
            rateLimit: { store },
            quota: { store },
            routes: [
              { id: "orders", match: { pathPrefix: "/orders" }, upstream: "orders", auth: [{ type: "api-key" }] },
              {
                id: "strict",
                match: { pathPrefix: "/strict" },
                upstream: "orders",
                auth: [{ type: "api-key" }],
                rateLimit: { onStoreFailure: "closed" },
                quota: { onStoreFailure: "closed" },
              },
            ],
          },
        }),
      );
    }
    const configFile = join(cp.dir, "quota-projector.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        eventStore: { kind: "sqlite", file: cp.eventsFile },
        store: { file: join(cp.dir, "quota.db") },
        redis: { url: redis.url, keyPrefix: quotaPrefix, sweepIntervalMs: 250 },
        runner: { maxBatchSize: 500, maxBatchWaitMs: 20 },
        status: { port: 0 },
      }),
    );
    projector = spawn(process.execPath, [projectorMain, "--config", configFile], { stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [projector.stdout!, projector.stderr!]) createInterface({ input: stream }).on("line", (line) => projectorLines.push(line));
    await waitFor("the projector to listen", () => projectorLines.some((line) => line.includes('"msg":"listening"')), 20_000);

    expect((await admin("POST", "/admin/plans", { id: "burst", name: "Burst", routes: ["*"], rateLimits: [{ name: "per-hour", points: 100, windowSeconds: 3_600, algorithm: "fixed-window" }] })).status).toBe(201);
    expect((await admin("POST", "/admin/plans", { id: "metered", name: "Metered", routes: ["*"], quota: { limit: 500, period: "day", enforcement: "hard" } })).status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    if (projector && projector.exitCode === null && projector.signalCode === null) {
      const exited = once(projector, "exit");
      projector.kill("SIGTERM");
      await exited;
    }
    for (const gateway of gateways) await gateway.cleanup();
    await cp?.cleanup();
    await upstream?.close();
    await client.close();
    await redis?.kill();
  });

  it("a limit of 100 per window admits exactly 100 across both gateways; the 429s name the limit", async () => {
    const { key, probes } = await subscriber("rl-one", "burst");
    const answers = [...probes, ...(await burst(1_000, "/orders/1", key))];
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(100);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused).toHaveLength(answers.length - 100);
    expect(refused[0]?.body).toMatchObject({ code: "rate-limited", limit: "per-hour" });
    expect(refused[0]?.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(refused[0]?.headers.get("ratelimit-remaining")).toBe("0");

    const events = await allEventsOf("rl-one", answers.length);
    const rejected = events.filter((event) => event.type === "RequestRejected");
    expect(rejected).toHaveLength(answers.length - 100);
    expect(rejected.every((event) => event.stage === "rate-limit" && event.limit === "per-hour")).toBe(true);
    expect(new Set(events.map((event) => event.gatewayId))).toEqual(new Set(["gw-a", "gw-b"]));
  });

  it("a quota of 500/day admits exactly 500 across both gateways, and the projected counter equals the billable events", async () => {
    const { key, probes } = await subscriber("q-one", "metered");
    const answers = [...probes, ...(await burst(1_000, "/orders/1", key))];
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(500);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused).toHaveLength(answers.length - 500);
    expect(refused[0]?.body).toMatchObject({ code: "quota-exceeded", limit: "daily-quota" });
    for (const answer of answers) expect(answer.headers.get("quota-limit")).toBe("500");

    const events = await allEventsOf("q-one", answers.length);
    const billable = events.filter((event) => event.type === "RequestCompleted" && (event.status as number) < 500).length;
    expect(billable).toBe(500);
    await waitFor("the projector to reconcile the counter", async () => (await quotaCounter("q-one-sub")) === billable, 20_000);
  });

  it("requests the plan does not bill (upstream 5xx) are refunded by the projector: exactly that many more are admitted", async () => {
    failFirst.set("q-two", 37);
    const { key, probes } = await subscriber("q-two", "metered");
    const first = [...probes, ...(await burst(1_000, "/orders/1", key))];
    expect(first.filter((answer) => answer.status === 503)).toHaveLength(37);
    // The projector refunds the 37 as their events reach the log, possibly while the burst
    // is still running; once it has caught up, the counter equals the billable events.
    const billableInLog = (): number =>
      requestEventsOf({ consumerId: "q-two" }).filter((event) => event.type === "RequestCompleted" && (event.status as number) < 500).length;
    await waitFor("every request event in the log", () => requestEventsOf({ consumerId: "q-two" }).length === first.length);
    await waitFor("the projector to refund the 37", async () => (await quotaCounter("q-two-sub")) === billableInLog(), 20_000);

    const second = await burst(1_000, "/orders/1", key);
    const answers = [...first, ...second];
    // 500 billable admissions, plus exactly the 37 that turned out not billable.
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(500);
    expect(answers.filter((answer) => answer.status !== 429)).toHaveLength(537);
    await waitFor("every request event in the log", () => requestEventsOf({ consumerId: "q-two" }).length === answers.length);
    expect(billableInLog()).toBe(500);
    await waitFor("the counter to equal the billable events", async () => (await quotaCounter("q-two-sub")) === 500, 20_000);
  });

  it("with Redis killed mid-run, fail-open routes are decided in memory within the bound and fail-closed routes answer 503", async () => {
    const { key, probes } = await subscriber("rl-two", "burst");
    const before = [...probes, ...(await burst(60, "/orders/1", key))];
    const admittedBefore = before.filter((answer) => answer.status === 200).length;
    expect(admittedBefore).toBe(before.length);

    await redis.kill();
    const strict = await burst(20, "/strict/1", key);
    expect(strict.map((answer) => answer.status)).toEqual(Array(20).fill(503));
    expect(strict[0]?.body).toMatchObject({ code: "rate-limit-unavailable" });

    const during = await burst(400, "/orders/1", key);
    const admittedInMemory = during.filter((answer) => answer.status === 200).length;
    // Each gateway admits at most the limit (pointsDivisor 1) in memory: the overshoot over the
    // shared limit of 100 is bounded by 2 × 100 minus what Redis had already admitted.
    expect(admittedInMemory).toBeGreaterThan(0);
    expect(admittedInMemory).toBeLessThanOrEqual(200);
    const overshoot = admittedBefore + admittedInMemory - 100;
    expect(overshoot).toBeLessThanOrEqual(200);
    for (const gateway of gateways) {
      await waitFor(`${gateway.url} to log the outage`, () => gateway.lines.some((line) => line.includes("rate limit store unavailable")));
    }
    console.info(`Redis killed: admitted before ${admittedBefore}, in memory ${admittedInMemory}, overshoot ${Math.max(0, overshoot)} (bound 200)`);
  });
});
