import { once } from "node:events";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { PassThrough } from "node:stream";
import { RequestEvent } from "@tollgate/events";
import { Agent, request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { problemContentType } from "./errors/problem-response.js";
import { demoRoute, startGateway, type TestGateway } from "./test-support/start-gateway.js";
import { startUpstream, type TestUpstream } from "./test-support/upstream-server.js";

const startedAt = "2026-11-26T10:00:00.000Z";

const noIdentity = { controlPlaneVersion: null, consumerId: null, credentialId: null, planId: null, subscriptionId: null };

let client: Agent;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  client = new Agent({ keepAliveTimeout: 1_000 });
  cleanups.push(() => client.close());
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function upstreamWith(...args: Parameters<typeof startUpstream>): Promise<TestUpstream> {
  const upstream = await startUpstream(...args);
  cleanups.push(() => upstream.close());
  return upstream;
}

async function gatewayWith(options: Parameters<typeof startGateway>[0]): Promise<TestGateway> {
  const gateway = await startGateway(options);
  cleanups.push(() => gateway.close());
  return gateway;
}

async function closedPortOrigin(): Promise<string> {
  const server = await startUpstream();
  await server.close();
  return server.origin;
}

describe("proxying", () => {
  it("forwards a GET and records exactly one RequestCompleted, without the query string", async () => {
    const upstream = await upstreamWith();
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    const res = await request(`${gw.url}/demo/items?id=7&api_key=secret`, { dispatcher: client, headers: { "x-request-id": "abc-123" } });
    const text = await res.body.text();

    expect(res.statusCode).toBe(200);
    expect(res.headers["x-request-id"]).toBe("abc-123");
    expect(JSON.parse(text)).toMatchObject({ method: "GET", url: "/demo/items?id=7&api_key=secret" });
    const events = await gw.recorder.waitFor(1);
    expect(events).toEqual([
      {
        type: "RequestCompleted",
        version: 1,
        data: {
          requestId: "abc-123",
          gatewayId: "gw-test",
          startedAt,
          durationMs: 3,
          routeId: "demo",
          method: "GET",
          path: "/demo/items",
          routeTemplate: "/demo",
          status: 200,
          clientIp: "127.0.0.1",
          bytesIn: 0,
          bytesOut: Buffer.byteLength(text),
          ...noIdentity,
          upstream: upstream.origin,
          attempts: 1,
          upstreamLatencyMs: 1,
          cacheStatus: "none",
        },
      },
    ]);
    expect(RequestEvent.parse(events[0])).toEqual(events[0]);
    expect(JSON.stringify(events)).not.toContain("secret");
  });

  it("generates a request id when the client sends none or an unusable one", async () => {
    const upstream = await upstreamWith();
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    const plain = await request(`${gw.url}/demo`, { dispatcher: client });
    await plain.body.dump();
    const hostile = await request(`${gw.url}/demo`, { dispatcher: client, headers: { "x-request-id": "x".repeat(129) } });
    await hostile.body.dump();

    expect(plain.headers["x-request-id"]).toBe("req-1");
    expect(hostile.headers["x-request-id"]).toBe("req-2");
    expect(upstream.requests.map((received) => received.headers["x-request-id"])).toEqual(["req-1", "req-2"]);
  });

  it("sends the target's host upstream, with X-Forwarded-Host carrying the client's", async () => {
    const upstream = await upstreamWith();
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    const res = await request(`${gw.url}/demo`, { dispatcher: client, headers: { host: "shop.example.com" } });
    await res.body.dump();

    expect(upstream.requests[0]?.headers).toMatchObject({
      host: `127.0.0.1:${upstream.port}`,
      "x-forwarded-host": "shop.example.com",
      "x-forwarded-proto": "http",
      "x-forwarded-for": "127.0.0.1",
      via: "1.1 tollgate",
    });
  });

  it("relays methods and status codes unchanged", async () => {
    const upstream = await upstreamWith((req, res) => {
      const status = Number(/\/status\/(\d{3})/.exec(req.url ?? "")?.[1] ?? 200);
      res.writeHead(status, { "x-method": req.method ?? "" });
      res.end(status === 204 || status === 304 ? undefined : `${req.method} ${status}`);
    });
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    const cases: [string, number][] = [
      ["GET", 200],
      ["POST", 201],
      ["PUT", 202],
      ["PATCH", 200],
      ["DELETE", 204],
      ["OPTIONS", 200],
      ["HEAD", 200],
      ["GET", 304],
      ["GET", 404],
      ["GET", 500],
      ["GET", 503],
    ];
    for (const [method, status] of cases) {
      const res = await request(`${gw.url}/demo/status/${status}`, { dispatcher: client, method: method as "GET" });
      const body = await res.body.text();
      expect(res.statusCode).toBe(status);
      expect(res.headers["x-method"]).toBe(method);
      expect(body).toBe(method === "HEAD" || status === 204 || status === 304 ? "" : `${method} ${status}`);
    }
    const events = await gw.recorder.waitFor(cases.length);
    expect(events.map((event) => [event.type, event.data.method, event.data.status])).toEqual(cases.map(([method, status]) => ["RequestCompleted", method, status]));
  });

  it("streams the request body upstream before the client has finished sending it", async () => {
    let firstChunkSeen: () => void = () => undefined;
    const firstChunk = new Promise<void>((resolve) => (firstChunkSeen = resolve));
    const upstream = await upstreamWith(
      (req, res) => {
        let bytes = 0;
        req.on("data", (chunk: Buffer) => {
          if (bytes === 0) firstChunkSeen();
          bytes += chunk.length;
        });
        req.on("end", () => res.end(String(bytes)));
      },
      { bufferBody: false },
    );
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    const body = new PassThrough();
    const pending = request(`${gw.url}/demo/upload`, { dispatcher: client, method: "POST", body });
    body.write(Buffer.alloc(64 * 1024, 1));
    await firstChunk;
    body.end(Buffer.alloc(1024 * 1024, 2));
    const res = await pending;

    expect(await res.body.text()).toBe(String(64 * 1024 + 1024 * 1024));
    const [event] = await gw.recorder.waitFor(1);
    expect(event?.data.bytesIn).toBe(64 * 1024 + 1024 * 1024);
    expect(upstream.requests[0]?.headers["transfer-encoding"]).toBe("chunked");
  });

  it("forwards a Content-Length body with its length", async () => {
    const upstream = await upstreamWith();
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    const res = await request(`${gw.url}/demo`, { dispatcher: client, method: "PUT", body: "hello", headers: { "content-type": "text/plain" } });
    await res.body.dump();

    expect(upstream.requests[0]?.headers["content-length"]).toBe("5");
    expect(upstream.requests[0]?.body.toString()).toBe("hello");
    expect((await gw.recorder.waitFor(1))[0]?.data.bytesIn).toBe(5);
  });

  it("streams the response body to the client before the upstream has finished it", async () => {
    let finishUpstream: () => void = () => undefined;
    const upstream = await upstreamWith((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write(Buffer.alloc(16 * 1024, 1));
      finishUpstream = () => res.end(Buffer.alloc(2 * 1024 * 1024, 2));
    });
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    const res = await request(`${gw.url}/demo/download`, { dispatcher: client });
    const [first] = (await once(res.body, "data")) as [Buffer];
    expect(first.length).toBeGreaterThan(0);
    finishUpstream();
    let total = first.length;
    for await (const chunk of res.body) total += (chunk as Buffer).length;

    expect(total).toBe(16 * 1024 + 2 * 1024 * 1024);
    expect((await gw.recorder.waitFor(1))[0]?.data.bytesOut).toBe(total);
  });

  it("strips the route prefix when asked to", async () => {
    const upstream = await upstreamWith();
    const gw = await gatewayWith({
      config: {
        upstreams: { demo: { targets: [upstream.origin] } },
        routes: [{ id: "demo", match: { pathPrefix: "/demo" }, upstream: "demo", stripPrefix: true }],
      },
    });

    for (const path of ["/demo/a/b?x=1", "/demo", "/demo/"]) {
      const res = await request(`${gw.url}${path}`, { dispatcher: client });
      await res.body.dump();
    }

    expect(upstream.requests.map((received) => received.url)).toEqual(["/a/b?x=1", "/", "/"]);
  });

  it("routes on the normalized path and sends that path upstream", async () => {
    const upstream = await upstreamWith();
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    // Sent as a raw path: a URL object would resolve the dot segments client-side.
    const res = await client.request({ origin: gw.url, path: "/other/../demo/%7Euser/./x", method: "GET" });
    await res.body.dump();

    expect(res.statusCode).toBe(200);
    expect(upstream.requests[0]?.url).toBe("/demo/~user/x");
    expect((await gw.recorder.waitFor(1))[0]?.data.path).toBe("/demo/~user/x");
  });
});

describe("refusals and failures", () => {
  it("answers an unknown route with 404 problem+json and records RequestRejected at the route stage", async () => {
    const gw = await gatewayWith({});

    const res = await request(`${gw.url}/nowhere?key=secret`, { dispatcher: client });
    const body = await res.body.json();

    expect(res.statusCode).toBe(404);
    expect(res.headers["content-type"]).toBe(problemContentType);
    expect(res.headers["x-request-id"]).toBe("req-1");
    expect(body).toEqual({
      type: "urn:tollgate:problem:route-not-found",
      title: "No route matches the request",
      status: 404,
      detail: "no route matches the request's method, host and path",
      instance: "urn:tollgate:request:req-1",
      requestId: "req-1",
      code: "route-not-found",
      retryable: false,
    });
    const events = await gw.recorder.waitFor(1);
    expect(events).toEqual([
      {
        type: "RequestRejected",
        version: 1,
        data: {
          requestId: "req-1",
          gatewayId: "gw-test",
          startedAt,
          durationMs: 1,
          routeId: null,
          method: "GET",
          path: "/nowhere",
          routeTemplate: null,
          status: 404,
          clientIp: "127.0.0.1",
          bytesIn: 0,
          bytesOut: Buffer.byteLength(JSON.stringify(body)),
          ...noIdentity,
          stage: "route",
          reason: "no route matches the request's method, host and path",
          limit: null,
        },
      },
    ]);
    expect(RequestEvent.parse(events[0])).toEqual(events[0]);
  });

  it("answers a path that climbs above the root with 400 and records a validation rejection", async () => {
    const upstream = await upstreamWith();
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    const res = await client.request({ origin: gw.url, path: "/demo/%2e%2e/%2e%2e/etc/passwd", method: "GET" });
    const body = (await res.body.json()) as { code: string };

    expect(res.statusCode).toBe(400);
    expect(body.code).toBe("invalid-path");
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestRejected", data: { stage: "validation", status: 400, path: "/demo/%2e%2e/%2e%2e/etc/passwd" } });
    expect(upstream.requests).toHaveLength(0);
  });

  it("answers 502 when the upstream refuses the connection, and records RequestFailed with its cause", async () => {
    const origin = await closedPortOrigin();
    const gw = await gatewayWith({ config: demoRoute(origin) });

    const res = await request(`${gw.url}/demo`, { dispatcher: client });
    const body = await res.body.json();

    expect(res.statusCode).toBe(502);
    expect(res.headers["content-type"]).toBe(problemContentType);
    expect(body).toMatchObject({
      type: "urn:tollgate:problem:upstream-unreachable",
      status: 502,
      detail: 'Upstream unreachable (upstream "demo")',
      requestId: "req-1",
      retryable: true,
    });
    expect(JSON.stringify(body)).not.toContain("127.0.0.1");
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toEqual({
      type: "RequestFailed",
      version: 1,
      data: {
        requestId: "req-1",
        gatewayId: "gw-test",
        startedAt,
        durationMs: 2,
        routeId: "demo",
        method: "GET",
        path: "/demo",
        routeTemplate: "/demo",
        status: 502,
        clientIp: "127.0.0.1",
        bytesIn: 0,
        bytesOut: Buffer.byteLength(JSON.stringify(body)),
        ...noIdentity,
        upstream: origin,
        attempts: 1,
        error: "upstream-error",
        detail: expect.stringMatching(/ECONNREFUSED/) as string,
        fallbackServed: false,
      },
    });
  });

  it("answers 504 when the upstream sends no response head in time", async () => {
    const upstream = await upstreamWith(() => undefined);
    const gw = await gatewayWith({
      config: { ...demoRoute(upstream.origin), upstreams: { demo: { targets: [upstream.origin], headersTimeoutMs: 150 } } },
    });

    const res = await request(`${gw.url}/demo`, { dispatcher: client });
    const body = (await res.body.json()) as { code: string; status: number };

    expect(res.statusCode).toBe(504);
    expect(body).toMatchObject({ code: "upstream-timeout", status: 504 });
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestFailed", data: { status: 504, error: "timeout", upstream: upstream.origin, attempts: 1 } });
  });

  it("cuts the client's response when the upstream dies mid-body, and records the failure with the status already sent", async () => {
    const upstream = await upstreamWith((_req, res) => {
      res.writeHead(200, { "content-length": "1000" });
      res.write("partial", () => res.destroy());
    });
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    const res = await request(`${gw.url}/demo`, { dispatcher: client });
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();

    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestFailed", data: { status: 200, error: "upstream-error", bytesOut: 7 } });
  });

  it("answers 502 when the upstream's status is outside 100-599", async () => {
    const raw = createTcpServer((socket) => {
      socket.once("data", () => socket.end("HTTP/1.1 799 Odd\r\ncontent-length: 0\r\n\r\n"));
    });
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => raw.close(() => resolve())));
    const origin = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
    const gw = await gatewayWith({ config: demoRoute(origin) });

    const res = await request(`${gw.url}/demo`, { dispatcher: client });
    const body = (await res.body.json()) as { code: string };

    expect(res.statusCode).toBe(502);
    expect(body.code).toBe("upstream-bad-response");
    expect((await gw.recorder.waitFor(1))[0]).toMatchObject({ type: "RequestFailed", data: { status: 502, error: "upstream-error" } });
  });

  it("destroys the upstream request when the client aborts, and records client-abort", async () => {
    let upstreamRequestClosed: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (upstreamRequestClosed = resolve));
    let upstreamReached: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => (upstreamReached = resolve));
    const upstream = await upstreamWith(
      (_req, res) => {
        res.on("close", () => upstreamRequestClosed());
        upstreamReached();
      },
      { bufferBody: false },
    );
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    const abort = new AbortController();
    const pending = request(`${gw.url}/demo/slow`, { dispatcher: client, signal: abort.signal });
    await reached;
    abort.abort();
    await expect(pending).rejects.toThrow();
    await closed;

    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({
      type: "RequestFailed",
      data: { status: 499, error: "client-abort", upstream: upstream.origin, attempts: 1, routeId: "demo" },
    });
    expect(gw.gateway.inFlight).toBe(0);
  });

  it("keeps upstream connections within the pool size however many requests pass", async () => {
    const upstream = await upstreamWith();
    const gw = await gatewayWith({ config: { ...demoRoute(upstream.origin), upstreams: { demo: { targets: [upstream.origin], connections: 4 } } } });
    const fanIn = new Agent({ connections: 20, keepAliveTimeout: 1_000 });
    cleanups.push(() => fanIn.close());

    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 500) {
        next++;
        const res = await request(`${gw.url}/demo/n`, { dispatcher: fanIn });
        await res.body.dump();
        expect(res.statusCode).toBe(200);
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));

    expect(upstream.requests).toHaveLength(500);
    expect(upstream.connections).toBeLessThanOrEqual(4);
    expect((await gw.recorder.waitFor(500)).every((event) => event.type === "RequestCompleted")).toBe(true);
  });

  it("spreads requests over an upstream's targets round-robin", async () => {
    const first = await upstreamWith();
    const second = await upstreamWith();
    const gw = await gatewayWith({ config: { ...demoRoute(first.origin), upstreams: { demo: { targets: [first.origin, second.origin] } } } });

    for (let index = 0; index < 4; index++) {
      const res = await request(`${gw.url}/demo`, { dispatcher: client });
      await res.body.dump();
    }

    expect([first.requests.length, second.requests.length]).toEqual([2, 2]);
    expect((await gw.recorder.waitFor(4)).map((event) => (event.type === "RequestCompleted" ? event.data.upstream : null))).toEqual([
      first.origin,
      second.origin,
      first.origin,
      second.origin,
    ]);
  });
});

describe("metrics and access log", () => {
  it("counts requests by route and status and observes durations and upstream latency", async () => {
    const upstream = await upstreamWith();
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    for (const path of ["/demo", "/demo", "/missing"]) {
      const res = await request(`${gw.url}${path}`, { dispatcher: client });
      await res.body.dump();
    }
    await gw.recorder.waitFor(3);
    const text = await gw.registry.metrics();

    expect(text).toContain('tollgate_requests_total{route="demo",status="200"} 2');
    expect(text).toContain('tollgate_requests_total{route="(none)",status="404"} 1');
    expect(text).toContain('tollgate_request_duration_seconds_count{route="demo",status="200"} 2');
    expect(text).toContain('tollgate_upstream_latency_seconds_count{route="demo"} 2');
    expect(text).toContain("tollgate_requests_in_flight 0");
  });

  it("logs only failures and 5xx in errors mode, one line each, with no query string", async () => {
    const upstream = await upstreamWith((req, res) => {
      res.statusCode = req.url?.startsWith("/demo/boom") ? 500 : 200;
      res.end();
    });
    const gw = await gatewayWith({ config: demoRoute(upstream.origin) });

    for (const path of ["/demo/ok", "/demo/boom?token=secret", "/missing"]) {
      const res = await request(`${gw.url}${path}`, { dispatcher: client, headers: { authorization: "Bearer secret" } });
      await res.body.dump();
    }
    await gw.recorder.waitFor(3);

    const access = gw.log.lines().filter((line) => line.component === "access");
    expect(access).toEqual([
      expect.objectContaining({ msg: "request", requestId: "req-2", route: "demo", status: 500, path: "/demo/boom", outcome: "RequestCompleted", level: "warn" }),
    ]);
    expect(JSON.stringify(gw.log.lines())).not.toContain("secret");
  });

  it("logs every request in all mode", async () => {
    const upstream = await upstreamWith();
    const gw = await gatewayWith({ config: { ...demoRoute(upstream.origin), accessLog: "all" } });

    for (const path of ["/demo", "/missing"]) {
      const res = await request(`${gw.url}${path}`, { dispatcher: client });
      await res.body.dump();
    }
    await gw.recorder.waitFor(2);

    const access = gw.log.lines().filter((line) => line.component === "access");
    expect(access.map((line) => [line.requestId, line.status, line.outcome])).toEqual([
      ["req-1", 200, "RequestCompleted"],
      ["req-2", 404, "RequestRejected"],
    ]);
  });
});

describe("graceful shutdown", () => {
  it("lets the request in flight finish with Connection: close, records it, then stops accepting", async () => {
    let release: () => void = () => undefined;
    let reached: () => void = () => undefined;
    const upstreamReached = new Promise<void>((resolve) => (reached = resolve));
    const upstream = await upstreamWith((_req, res) => {
      reached();
      release = () => res.end("late");
    });
    const gw = await startGateway({ config: demoRoute(upstream.origin) });

    const pending = request(`${gw.url}/demo/slow`, { dispatcher: client });
    await upstreamReached;
    const shutdown = gw.gateway.shutdown(5_000);
    let shutdownDone = false;
    void shutdown.then(() => (shutdownDone = true));

    expect(gw.readiness.ready).toBe(false);
    expect(gw.gateway.draining).toBe(true);
    release();
    const res = await pending;

    expect(res.statusCode).toBe(200);
    expect(res.headers.connection).toBe("close");
    expect(await res.body.text()).toBe("late");
    await shutdown;
    expect(shutdownDone).toBe(true);
    expect(gw.recorder.events).toHaveLength(1);
    expect(gw.recorder.events[0]?.type).toBe("RequestCompleted");
    await expect(request(`${gw.url}/demo`, { dispatcher: new Agent() })).rejects.toThrow(/ECONNREFUSED/);
  });

  it("closes idle keep-alive connections and those whose response finished during the drain", async () => {
    let release: () => void = () => undefined;
    let reached: () => void = () => undefined;
    const upstreamReached = new Promise<void>((resolve) => (reached = resolve));
    const upstream = await upstreamWith((req, res) => {
      if (req.url === "/demo/slow") {
        res.writeHead(200);
        res.write("head-sent ");
        reached();
        release = () => res.end("done");
      } else {
        res.end("fast");
      }
    });
    const gw = await startGateway({ config: demoRoute(upstream.origin) });
    const idle = await request(`${gw.url}/demo/fast`, { dispatcher: client });
    await idle.body.dump();

    const slowClient = new Agent({ keepAliveTimeout: 60_000 });
    cleanups.push(() => slowClient.close());
    const pending = request(`${gw.url}/demo/slow`, { dispatcher: slowClient });
    await upstreamReached;
    const res = await pending;
    const began = performance.now();
    const shutdown = gw.gateway.shutdown(5_000);
    release();

    expect(await res.body.text()).toBe("head-sent done");
    await shutdown;
    // Well inside the grace period: nothing waited for a keep-alive timeout.
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(gw.recorder.events.map((event) => event.type)).toEqual(["RequestCompleted", "RequestCompleted"]);
  });

  it("closes connections still busy when the grace period expires and records their requests as failed", async () => {
    let reached: () => void = () => undefined;
    const upstreamReached = new Promise<void>((resolve) => (reached = resolve));
    const upstream = await upstreamWith(() => reached());
    const gw = await startGateway({ config: demoRoute(upstream.origin) });

    const outcome = request(`${gw.url}/demo/stuck`, { dispatcher: client }).then(
      () => "answered",
      (error: unknown) => error,
    );
    await upstreamReached;
    await gw.gateway.shutdown(100);

    expect(await outcome).toBeInstanceOf(Error);
    expect(gw.recorder.events).toHaveLength(1);
    expect(gw.recorder.events[0]).toMatchObject({
      type: "RequestFailed",
      data: { error: "timeout", detail: "shutdown grace period expired before the response completed", status: 499 },
    });
    expect(gw.gateway.inFlight).toBe(0);
  });
});
