import { readFileSync } from "node:fs";
import { Agent, request, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { generateApiKey } from "@tollgate/control-plane";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authGatewayConfig } from "./support/auth-e2e-stack.js";
import { startControlPlaneProcess, type ControlPlaneProcess } from "./support/control-plane-process.js";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.js";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.js";
import { waitFor } from "./support/wait-for.js";

type Json = Record<string, unknown>;

const adminToken = "e2e-gateway-auth-admin-token-5c4b3a29f8e7d6c1";

interface StoredEvent {
  position: number;
  type: string;
  data: Json;
}

/** Events straight from the shared SQLite file, read-only. */
function readEvents(file: string, where: string): StoredEvent[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare(`SELECT position, type, data FROM events WHERE ${where} ORDER BY position`).all() as { position: number; type: string; data: string }[];
    return rows.map((row) => ({ position: row.position, type: row.type, data: JSON.parse(row.data) as Json }));
  } finally {
    db.close();
  }
}

describe("gateway authentication and authorization against a live control plane (real processes, one SQLite file)", () => {
  let cp: ControlPlaneProcess;
  let gateway: GatewayProcess;
  let upstream: UpstreamServer;
  const seenByUpstream: { url: string; headers: IncomingHttpHeaders }[] = [];
  /** Every key handed out in this run; none may appear in the log or in any output. */
  const keys: string[] = [];
  let key = "";
  /** Requests sent through the gateway: each must have exactly one event and one access-log line. */
  let sent = 0;

  const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${cp.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  const callGateway = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: string }> => {
    sent += 1;
    const response = await fetch(`${gateway.url}${path}`, { headers });
    return { status: response.status, headers: response.headers, body: await response.text() };
  };

  /** One request over `agent` (node:http, so that the client socket it went over can be compared). */
  const callOver = (agent: Agent, path: string, headers: Record<string, string>): Promise<{ status: number; body: string; socket: Socket }> => {
    sent += 1;
    return new Promise((resolve, reject) => {
      const outgoing = request(`${gateway.url}${path}`, { agent, headers }, (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), socket: outgoing.socket as Socket }));
        response.on("error", reject);
      });
      outgoing.on("error", reject);
      outgoing.end();
    });
  };

  /** Polls the gateway until it answers `status` (over `agent` when given); returns how long that took. */
  const untilStatus = async (what: string, status: number, path: string, headers: Record<string, string>, agent?: Agent): Promise<number> => {
    const started = performance.now();
    const poll = async (): Promise<number> => (agent === undefined ? (await callGateway(path, headers)).status : (await callOver(agent, path, headers)).status);
    await waitFor(what, async () => (await poll()) === status, 5_000, 5);
    return performance.now() - started;
  };

  beforeAll(async () => {
    upstream = await startUpstream((request, response) => {
      seenByUpstream.push({ url: request.url ?? "", headers: request.headers });
      response.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
      response.end("ok");
    });
    cp = await startControlPlaneProcess({ adminTokens: [{ name: "ops", token: adminToken, access: "write" }], logging: { level: "debug" } });
    gateway = await startGatewayProcess({
      config: authGatewayConfig(cp.eventsFile, {
        upstreams: { orders: { targets: [upstream.url] } },
        routes: [
          { id: "orders", match: { pathPrefix: "/orders" }, upstream: "orders", auth: [{ type: "api-key", queryParam: "api_key" }] },
          { id: "open", match: { pathPrefix: "/open" }, upstream: "orders" },
        ],
      }),
    });
  });

  afterAll(async () => {
    await gateway?.cleanup();
    await cp?.cleanup();
    await upstream?.close();
  });

  it("turns ready once it has caught up with the control plane", async () => {
    const readiness = await waitFor("the gateway to be ready", async () => {
      const response = await fetch(`${gateway.statusUrl}/readyz`);
      return response.status === 200 && ((await response.json()) as Json);
    });
    expect(JSON.stringify(readiness)).toContain("control-plane");
  });

  it("admits a key issued through the admin API, for a consumer subscribed to a plan that covers the route", async () => {
    expect((await admin("POST", "/admin/plans", { id: "basic", name: "Basic", routes: ["orders"] })).status).toBe(201);
    expect((await admin("POST", "/admin/consumers", { id: "acme", name: "Acme" })).status).toBe(201);
    expect((await admin("POST", "/admin/subscriptions", { id: "acme-basic", consumerId: "acme", planId: "basic" })).status).toBe(201);
    const issued = await admin("POST", "/admin/consumers/acme/api-keys", { id: "acme-key", name: "prod" });
    expect(issued.status).toBe(201);
    key = issued.body.secret as string;
    keys.push(key);

    const latencyMs = await untilStatus("the new key to work", 200, "/orders/1", { "x-api-key": key });
    expect(latencyMs).toBeLessThan(1_000);
    const ok = await callGateway("/orders/1", { "x-api-key": key });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe("ok");
  });

  it("answers 401 with WWW-Authenticate for a missing or a wrong key", async () => {
    const missing = await callGateway("/orders/1");
    expect(missing.status).toBe(401);
    expect(missing.headers.get("content-type")).toBe("application/problem+json");
    expect(missing.headers.get("www-authenticate")).toBe('ApiKey realm="tollgate"');
    expect(JSON.parse(missing.body)).toMatchObject({ code: "unauthorized", status: 401 });

    const wrongKey = generateApiKey((size) => Buffer.alloc(size, 0x5a)).key;
    keys.push(wrongKey);
    const wrong = await callGateway("/orders/1", { "x-api-key": wrongKey });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toBe('ApiKey realm="tollgate", error="invalid_key"');
    expect(JSON.parse(wrong.body)).toMatchObject({ code: "unauthorized", detail: "unknown API key" });
  });

  it("answers 403 within 1 s of the subscription being suspended, without a restart or a dropped connection, and 200 again after reactivation", async () => {
    // One client connection, kept alive, carries every request of this test: the changes
    // reach the gateway without it closing a connection.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const pid = gateway.pid;
    try {
      const before = await callOver(agent, "/orders/1", { "x-api-key": key });
      expect(before.status).toBe(200);

      const suspendedAt = performance.now();
      expect((await admin("POST", "/admin/subscriptions/acme-basic/suspend", {})).status).toBe(200);
      const committedAfterMs = performance.now() - suspendedAt;
      const suspendLatencyMs = committedAfterMs + (await untilStatus("the suspension to reach the gateway", 403, "/orders/1", { "x-api-key": key }, agent));
      const forbidden = await callOver(agent, "/orders/1", { "x-api-key": key });
      expect(forbidden.status).toBe(403);
      expect(JSON.parse(forbidden.body)).toMatchObject({ code: "forbidden", detail: 'subscription "acme-basic" is suspended' });

      const reactivatedAt = performance.now();
      expect((await admin("POST", "/admin/subscriptions/acme-basic/reactivate", {})).status).toBe(200);
      const reactivateLatencyMs = performance.now() - reactivatedAt + (await untilStatus("the reactivation to reach the gateway", 200, "/orders/1", { "x-api-key": key }, agent));
      const after = await callOver(agent, "/orders/1", { "x-api-key": key });
      expect(after.status).toBe(200);

      console.log(`suspend → 403 in ${suspendLatencyMs.toFixed(1)} ms (admin call included); reactivate → 200 in ${reactivateLatencyMs.toFixed(1)} ms`);
      expect(suspendLatencyMs).toBeLessThan(1_000);
      expect(reactivateLatencyMs).toBeLessThan(1_000);
      // The same client socket from the first request to the last, and the same gateway process.
      expect(after.socket).toBe(before.socket);
      expect(forbidden.socket).toBe(before.socket);
      expect(after.socket.destroyed).toBe(false);
      expect(gateway.pid).toBe(pid);
      expect(gateway.child.exitCode).toBeNull();
    } finally {
      agent.destroy();
    }
  });

  it("tells the upstream who called, and never what a client claimed or the key", async () => {
    seenByUpstream.length = 0;
    expect((await callGateway("/orders/2", { "x-api-key": key, "X-Consumer-Id": "mallory", "x-plan-id": "enterprise" })).status).toBe(200);
    expect((await callGateway(`/orders/3?page=2&api_key=${key}`)).status).toBe(200);
    expect((await callGateway("/open/x", { "x-consumer-id": "mallory", "x-plan-id": "enterprise" })).status).toBe(200);
    expect(seenByUpstream.map((seen) => [seen.url, seen.headers["x-consumer-id"], seen.headers["x-plan-id"], seen.headers["x-api-key"]])).toEqual([
      ["/orders/2", "acme", "basic", undefined],
      ["/orders/3?page=2", "acme", "basic", undefined],
      ["/open/x", undefined, undefined, undefined],
    ]);
  });

  it("records consumer, credential, plan, subscription and control-plane version in the request events", async () => {
    const requests = await waitFor("the request events", () => {
      const events = readEvents(cp.eventsFile, "stream_id LIKE 'requests-%'");
      return events.length >= sent ? events : null;
    });
    expect(requests).toHaveLength(sent);
    const control = readEvents(cp.eventsFile, "stream_id NOT LIKE 'requests-%'");
    const positionOf = (type: string): number => control.filter((event) => event.type === type).at(-1)!.position;

    const completed = requests.filter((event) => event.type === "RequestCompleted" && event.data.routeId === "orders");
    expect(completed.length).toBeGreaterThanOrEqual(4);
    for (const event of completed) {
      expect(event.data).toMatchObject({ consumerId: "acme", credentialId: "acme-key", planId: "basic", subscriptionId: "acme-basic" });
      expect(Number(event.data.controlPlaneVersion)).toBeGreaterThanOrEqual(positionOf("ApiKeyIssued"));
    }
    const forbidden = requests.filter((event) => event.type === "RequestRejected" && event.data.stage === "authz");
    expect(forbidden.length).toBeGreaterThanOrEqual(1);
    for (const event of forbidden) {
      expect(event.data).toMatchObject({ status: 403, consumerId: "acme", subscriptionId: "acme-basic" });
      expect(Number(event.data.controlPlaneVersion)).toBeGreaterThanOrEqual(positionOf("SubscriptionSuspended"));
      expect(Number(event.data.controlPlaneVersion)).toBeLessThan(positionOf("SubscriptionReactivated"));
    }
    const unauthorized = requests.filter((event) => event.type === "RequestRejected" && event.data.stage === "auth");
    expect(unauthorized.map((event) => event.data.reason)).toEqual(expect.arrayContaining(["no credentials in the request", "unknown API key"]));
    expect(requests.find((event) => event.data.routeId === "open")?.data).toMatchObject({ consumerId: null, planId: null });
    expect(requests.every((event) => typeof event.data.controlPlaneVersion === "string")).toBe(true);
  });

  it("leaves no raw key in the log file or in either process's output", async () => {
    expect(await gateway.stop()).toBe(0);
    expect(await cp.stop()).toBe(0);
    const haystacks = [
      readFileSync(cp.eventsFile).toString("latin1"),
      readFileSync(`${cp.eventsFile}-wal`, { flag: "a+" }).toString("latin1"),
      gateway.lines.join("\n"),
      cp.lines.join("\n"),
    ];
    expect(gateway.lines.filter((line) => line.includes('"component":"access"'))).toHaveLength(sent);
    expect(keys).toHaveLength(2);
    for (const secret of keys) {
      for (const haystack of haystacks) expect(haystack.includes(secret), `found a key (${secret.slice(0, 6)}…)`).toBe(false);
    }
  });
});
