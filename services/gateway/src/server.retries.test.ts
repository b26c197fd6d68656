import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { hash32, HashRing } from "./proxy/hash-ring.js";
import { startGateway, type TestGateway } from "./test-support/start-gateway.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Behaviour = "ok" | "reset" | "slow";

/** A real upstream whose behaviour the test sets: answer, cut the connection after reading the request, or answer late. */
async function target(behaviour: Behaviour, slowMs = 1_000): Promise<{ origin: string; received: number; server: Server }> {
  const state = { origin: "", received: 0, server: null as unknown as Server };
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    state.received += 1;
    req.resume();
    req.on("end", () => {
      if (behaviour === "reset") {
        req.socket.destroy();
        return;
      }
      const answer = (): void => {
        res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
        res.end("ok");
      };
      if (behaviour === "slow") setTimeout(answer, slowMs).unref();
      else answer();
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.server = server;
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, "close");
  });
  return state;
}

/** An origin nothing listens on: connection refused. */
async function refusedOrigin(): Promise<string> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return `http://127.0.0.1:${port}`;
}

async function gateway(targets: string[], route: Record<string, unknown>, upstream: Record<string, unknown> = {}): Promise<TestGateway> {
  const gw = await startGateway({
    config: {
      upstreams: { api: { targets, healthChecks: { passive: { consecutiveFailures: 0 } }, ...upstream } },
      routes: [{ id: "api", match: { pathPrefix: "/api" }, upstream: "api", ...route }],
    },
  });
  cleanups.push(() => gw.close());
  return gw;
}

async function call(url: string, method = "GET", body?: string): Promise<{ status: number; body: Record<string, unknown> | string }> {
  const res = await request(url, { method, ...(body === undefined ? {} : { body }) });
  const text = await res.body.text();
  return { status: res.statusCode, body: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : text };
}

describe("retries", () => {
  it("retries a GET on another target, and records both attempts", async () => {
    const healthy = await target("ok");
    const refused = await refusedOrigin();
    // Consistent hashing sends every attempt of a key to the same target, unless the balancer
    // skips the targets already tried: a key owned by the refusing target must be retried on the other.
    const ring = new HashRing([refused, healthy.origin].map((origin) => ({ id: origin, weight: 1, value: origin })));
    const user = Array.from({ length: 100 }, (_, index) => `user-${index}`).find((candidate) => ring.lookup(hash32(candidate)) === refused) as string;
    const gw = await gateway([refused, healthy.origin], { retries: { attempts: 2, backoffBaseMs: 1 } }, {
      balancing: { algorithm: "consistent-hash", hashOn: "header", hashHeader: "x-user" },
    });
    const res = await request(`${gw.url}/api`, { headers: { "x-user": user } });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestCompleted", data: { attempts: 2, upstream: healthy.origin, status: 200, targetsTried: [refused, healthy.origin] } });
  });

  it("never retries a POST after the upstream received it, but retries one that was refused before reaching it", async () => {
    const cutter = await target("reset");
    const healthy = await target("ok");
    const gw = await gateway([cutter.origin, healthy.origin], { retries: { attempts: 2, backoffBaseMs: 1 } });
    const cut = await call(`${gw.url}/api`, "POST", "{}");
    expect(cut.status).toBe(502);
    expect(cutter.received).toBe(1);
    expect(healthy.received).toBe(0);
    // A GET that the cutter receives is retried on the healthy target.
    for (let n = 0; n < 2; n++) expect((await call(`${gw.url}/api`)).status).toBe(200);
    expect(cutter.received).toBe(2);
    expect(healthy.received).toBe(2);

    const refused = await refusedOrigin();
    const gw2 = await gateway([refused, healthy.origin], { retries: { attempts: 1, backoffBaseMs: 1 } });
    expect((await call(`${gw2.url}/api`, "POST")).status).toBe(200);
    const events = await gw.recorder.waitFor(3);
    expect(events[0]).toMatchObject({ type: "RequestFailed", data: { attempts: 1, upstream: cutter.origin, method: "POST" } });
    // Not retried: no list, `upstream` is the one target.
    expect(events[0]?.type === "RequestFailed" && events[0].data.targetsTried).toBeUndefined();
    expect(events.slice(1).map((event) => [event.type, event.type === "RequestCompleted" ? event.data.attempts : 0]).sort()).toEqual([
      ["RequestCompleted", 1],
      ["RequestCompleted", 2],
    ]);
    expect((await gw2.recorder.waitFor(1))[0]).toMatchObject({ type: "RequestCompleted", data: { attempts: 2, method: "POST" } });
  });

  it("keeps retries within the budget under a 100% failing upstream", async () => {
    const failing = [await target("reset"), await target("reset")];
    const gw = await gateway(
      failing.map((t) => t.origin),
      { retries: { attempts: 3, backoffBaseMs: 0, backoffMaxMs: 0, budgetRatio: 0.2, budgetMinPerSecond: 0 } },
    );
    const dispatcher = new Agent({ connections: 10 });
    cleanups.push(() => dispatcher.close());
    const requests = 200;
    const answers = await Promise.all(
      Array.from({ length: requests }, async () => {
        const res = await request(`${gw.url}/api`, { dispatcher });
        await res.body.dump();
        return res.statusCode;
      }),
    );
    expect(answers.every((status) => status === 502)).toBe(true);
    const received = failing.reduce((sum, t) => sum + t.received, 0);
    // Without a budget, 3 retries each would have sent 800 requests upstream.
    expect(received).toBeLessThanOrEqual(requests * 1.2);
    expect(received).toBeGreaterThan(requests);
    const events = await gw.recorder.waitFor(requests);
    expect(events.reduce((sum, event) => sum + (event.type === "RequestFailed" ? event.data.attempts : 0), 0)).toBe(received);
  });
});

describe("per-route timeouts", () => {
  it("answers 504 when the response head takes longer than the route's responseHeadersMs", async () => {
    const slow = await target("slow", 2_000);
    const gw = await gateway([slow.origin], { timeouts: { responseHeadersMs: 100 } });
    const started = performance.now();
    const answer = await call(`${gw.url}/api`);
    expect(answer.status).toBe(504);
    // 100 ms, not undici's half-second ticks: well under the 500 ms its clock would allow.
    const elapsedMs = performance.now() - started;
    expect(elapsedMs).toBeGreaterThanOrEqual(99);
    expect(elapsedMs).toBeLessThan(450);
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestFailed", data: { error: "timeout", attempts: 1 } });
  });

  it("bounds the whole exchange, retries and backoff included, with totalMs", async () => {
    const slow = await target("slow", 2_000);
    const gw = await gateway([slow.origin], { timeouts: { totalMs: 150 }, retries: { attempts: 3, backoffBaseMs: 1 } });
    const started = performance.now();
    const answer = await call(`${gw.url}/api`);
    expect(answer.status).toBe(504);
    expect(answer.body).toMatchObject({ code: "upstream-timeout" });
    expect(performance.now() - started).toBeLessThan(1_000);
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestFailed", data: { error: "timeout" } });
    expect(slow.received).toBe(1);
  });
});
