import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { startGateway } from "./test-support/start-gateway.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real upstream that answers after `delayMs` (changeable), counting what it received. */
async function upstream(): Promise<{ origin: string; delayMs: number; received: number }> {
  const state = { origin: "", delayMs: 0, received: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    state.received += 1;
    req.resume();
    setTimeout(() => {
      if (res.destroyed) return;
      res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
      res.end("ok");
    }, state.delayMs).unref();
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, "close");
  });
  return state;
}

let calls = 0;

async function call(url: string): Promise<{ status: number; ms: number; body: Record<string, unknown> | string }> {
  calls += 1;
  const started = performance.now();
  const res = await request(url);
  const text = await res.body.text();
  return { status: res.statusCode, ms: performance.now() - started, body: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : text };
}

describe("circuit breaker per target", () => {
  it("a slow target trips its timeout (504), then its breaker: answers in under 5 ms while open, then it half-opens and recovers", async () => {
    calls = 0;
    const slow = await upstream();
    slow.delayMs = 1_000;
    const gw = await startGateway({
      config: {
        upstreams: {
          api: {
            targets: [slow.origin],
            healthChecks: { passive: { consecutiveFailures: 0 } },
            circuitBreaker: { enabled: true, volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 1_000 },
          },
        },
        routes: [{ id: "api", match: { pathPrefix: "/api" }, upstream: "api", timeouts: { responseHeadersMs: 50 } }],
      },
    });
    cleanups.push(() => gw.close());

    const timedOut = [];
    for (let n = 0; n < 5; n++) timedOut.push(await call(`${gw.url}/api`));
    expect(timedOut.map((answer) => answer.status)).toEqual([504, 504, 504, 504, 504]);
    expect(gw.gateway.upstreamHealth().api?.[0]?.circuit).toBe("open");

    const receivedWhenOpened = slow.received;
    const open = [];
    for (let n = 0; n < 10; n++) open.push(await call(`${gw.url}/api`));
    expect(open.every((answer) => answer.status === 503)).toBe(true);
    expect(open[0]?.body).toMatchObject({ code: "circuit-open" });
    const sorted = open.map((answer) => answer.ms).sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(5);
    expect(slow.received).toBe(receivedWhenOpened);
    expect(await gw.registry.getSingleMetricAsString("tollgate_upstream_circuit_state")).toContain(`target="${slow.origin}"} 2`);

    // The target recovers; after resetTimeoutMs one trial goes through and closes the breaker.
    slow.delayMs = 0;
    const deadline = Date.now() + 5_000;
    let answer = await call(`${gw.url}/api`);
    while (answer.status !== 200) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 25));
      answer = await call(`${gw.url}/api`);
    }
    expect(gw.gateway.upstreamHealth().api?.[0]?.circuit).toBe("closed");
    expect((await call(`${gw.url}/api`)).status).toBe(200);
    const messages = gw.log.lines().map((line) => String(line.msg));
    expect(messages.some((msg) => msg.startsWith("circuit breaker open"))).toBe(true);
    expect(messages.some((msg) => msg.startsWith("circuit breaker half-open"))).toBe(true);
    expect(messages.some((msg) => msg.startsWith("circuit breaker closed"))).toBe(true);
    // Each state change is also one gateway event (appended to the gateway's own stream by main).
    expect(gw.gatewayEvents.map((event) => [event.type, event.data.upstream, event.data.target, event.data.from, event.data.to, event.data.opens])).toEqual([
      ["CircuitBreakerStateChanged", "api", slow.origin, "closed", "open", 1],
      ["CircuitBreakerStateChanged", "api", slow.origin, "open", "half-open", 1],
      ["CircuitBreakerStateChanged", "api", slow.origin, "half-open", "closed", 1],
    ]);
    expect(gw.gatewayEvents.every((event) => event.data.gatewayId === "gw-test")).toBe(true);

    // One event per client request: 504s are timeouts, the fast 503s circuit-open.
    const events = await gw.recorder.waitFor(calls);
    expect(events).toHaveLength(calls);
    expect(events.slice(0, 5).every((event) => event.type === "RequestFailed" && event.data.error === "timeout")).toBe(true);
    expect(events.slice(5, 15).every((event) => event.type === "RequestFailed" && event.data.error === "circuit-open")).toBe(true);
  }, 20_000);

  it("an open breaker sends requests to the other targets instead", async () => {
    const slow = await upstream();
    slow.delayMs = 1_000;
    const fast = await upstream();
    const gw = await startGateway({
      config: {
        upstreams: {
          api: {
            targets: [slow.origin, fast.origin],
            healthChecks: { passive: { consecutiveFailures: 0 } },
            circuitBreaker: { enabled: true, volumeThreshold: 3, resetTimeoutMs: 60_000 },
          },
        },
        routes: [{ id: "api", match: { pathPrefix: "/api" }, upstream: "api", timeouts: { responseHeadersMs: 50 } }],
      },
    });
    cleanups.push(() => gw.close());
    const statuses: number[] = [];
    for (let n = 0; n < 30; n++) statuses.push((await call(`${gw.url}/api`)).status);
    expect(statuses.filter((status) => status === 504)).toHaveLength(3);
    expect(statuses.slice(6).every((status) => status === 200)).toBe(true);
    await gw.recorder.waitFor(30);
  });
});

describe("fallback", () => {
  it("serves the route's static fallback, marked, when the upstream fails, and records it", async () => {
    const gone = await upstream();
    const origin = gone.origin;
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
    const gw = await startGateway({
      config: {
        upstreams: { api: { targets: [origin] } },
        routes: [
          {
            id: "api",
            match: { pathPrefix: "/api" },
            upstream: "api",
            fallback: { status: 200, headers: { "content-type": "application/json" }, body: '{"items":[],"degraded":true}' },
          },
          { id: "strict", match: { pathPrefix: "/strict" }, upstream: "api", fallback: { on: ["timeout"], body: "late" } },
        ],
      },
    });
    cleanups.push(() => gw.close());
    const res = await request(`${gw.url}/api`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-tollgate-fallback"]).toBe("static");
    expect(res.headers["content-type"]).toBe("application/json");
    expect(await res.body.json()).toEqual({ items: [], degraded: true });
    // A fallback for timeouts only does not cover a refused connection.
    const strict = await request(`${gw.url}/strict`);
    await strict.body.dump();
    expect(strict.statusCode).toBe(502);
    const events = await gw.recorder.waitFor(2);
    expect(events[0]).toMatchObject({ type: "RequestFailed", data: { status: 200, error: "upstream-error", fallbackServed: true } });
    expect(events[1]).toMatchObject({ type: "RequestFailed", data: { status: 502, fallbackServed: false } });
  });
});
