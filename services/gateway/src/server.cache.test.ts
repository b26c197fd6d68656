import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";
import type { RequestCompleted, RequestEvent, RequestFailed } from "@tollgate/events";
import type { Redis } from "ioredis";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { Clock } from "./clock.js";
import type { GatewayConfigInput } from "./config/gateway-config.js";
import { connectSharedRedis, deleteKeys, sharedRedisUrl, uniquePrefix } from "./policies/rate-limit/test-support/shared-redis.js";
import { createStatusServer } from "./status-server.js";
import { ControlPlaneFixture } from "./test-support/control-plane-fixture.js";
import { startGateway, type TestGateway } from "./test-support/start-gateway.js";
import { startUpstream, type TestUpstream } from "./test-support/upstream-server.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Wall time the test moves by hand (freshness is judged by it); monotonic time is real. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = Date.UTC(2026, 10, 26, 10, 0, 0);
  return { epochMs: () => now, monotonicMs: () => performance.now(), advance: (ms) => (now += ms) };
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** An upstream answering `body` (numbered by request) with the given headers. */
async function upstreamWith(headers: Record<string, string | string[]>, body: (n: number) => string = (n) => `response ${n}`): Promise<TestUpstream> {
  let n = 0;
  const upstream = await startUpstream((_req, res) => {
    const text = body(++n);
    res.writeHead(200, { "content-type": "text/plain", "content-length": String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  });
  cleanups.push(() => upstream.close());
  return upstream;
}

type RouteInput = NonNullable<GatewayConfigInput["routes"]>[number];

async function cachedGateway(
  origin: string,
  cache: NonNullable<RouteInput["cache"]> = {},
  options: { clock?: Clock; extra?: Partial<GatewayConfigInput>; routes?: RouteInput[] } = {},
): Promise<TestGateway> {
  const gw = await startGateway({
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    config: {
      upstreams: { api: { targets: [origin], healthChecks: { passive: { consecutiveFailures: 0 } } } },
      routes: options.routes ?? [{ id: "api", match: { pathPrefix: "/api" }, upstream: "api", cache }],
      ...options.extra,
    },
  });
  cleanups.push(() => gw.close());
  return gw;
}

interface Answer {
  status: number;
  body: string;
  xCache: string | undefined;
  age: string | undefined;
  fallback: string | undefined;
}

async function call(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await request(url, { method: options.method ?? "GET", headers: options.headers ?? {} });
  const body = await res.body.text();
  return {
    status: res.statusCode,
    body,
    xCache: res.headers["x-cache"] as string | undefined,
    age: res.headers.age as string | undefined,
    fallback: res.headers["x-tollgate-fallback"] as string | undefined,
  };
}

function completed(event: RequestEvent | undefined): RequestCompleted["data"] {
  expect(event?.type).toBe("RequestCompleted");
  return (event as RequestCompleted).data;
}

describe("response cache: hits and misses", () => {
  it("a hit skips the upstream: MISS then HIT with Age, one upstream request, one event each (attempts 0 on the hit)", async () => {
    const upstream = await upstreamWith({ "cache-control": "max-age=60" });
    const clock = manualClock();
    const gw = await cachedGateway(upstream.origin, {}, { clock });

    const first = await call(`${gw.url}/api/items`);
    clock.advance(3_000);
    const second = await call(`${gw.url}/api/items`);

    expect(first).toMatchObject({ status: 200, body: "response 1", xCache: "MISS" });
    expect(second).toMatchObject({ status: 200, body: "response 1", xCache: "HIT", age: "3" });
    expect(upstream.requests).toHaveLength(1);
    const events = await gw.recorder.waitFor(2);
    expect(events).toHaveLength(2);
    expect(completed(events[0])).toMatchObject({ cacheStatus: "miss", attempts: 1, upstream: upstream.origin, bytesOut: 10 });
    expect(completed(events[1])).toMatchObject({ cacheStatus: "hit", attempts: 0, upstream: "", upstreamLatencyMs: 0, status: 200, bytesOut: 10 });
  });

  it("HEAD is answered from the GET entry, without a body", async () => {
    const upstream = await upstreamWith({ "cache-control": "max-age=60" });
    const gw = await cachedGateway(upstream.origin);
    await call(`${gw.url}/api/items`);
    const res = await request(`${gw.url}/api/items`, { method: "HEAD" });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-cache"]).toBe("HIT");
    expect(res.headers["content-length"]).toBe("10");
    expect(upstream.requests).toHaveLength(1);
    const events = await gw.recorder.waitFor(2);
    expect(completed(events[1])).toMatchObject({ method: "HEAD", cacheStatus: "hit", bytesOut: 0 });
  });

  it("normalizes the query: parameters in another order share the entry, other values do not", async () => {
    const upstream = await upstreamWith({ "cache-control": "max-age=60" });
    const gw = await cachedGateway(upstream.origin);
    expect((await call(`${gw.url}/api/items?b=2&a=1`)).xCache).toBe("MISS");
    expect((await call(`${gw.url}/api/items?a=1&b=2`)).xCache).toBe("HIT");
    expect((await call(`${gw.url}/api/items?a=1&b=3`)).xCache).toBe("MISS");
    expect(upstream.requests.map((received) => received.url)).toEqual(["/api/items?b=2&a=1", "/api/items?a=1&b=3"]);
  });

  it("stores with the route's ttlSeconds when the upstream gives no freshness, and not without it", async () => {
    const upstream = await upstreamWith({});
    const withTtl = await cachedGateway(upstream.origin, { ttlSeconds: 30 });
    await call(`${withTtl.url}/api/a`);
    expect((await call(`${withTtl.url}/api/a`)).xCache).toBe("HIT");
    const withoutTtl = await cachedGateway(upstream.origin);
    await call(`${withoutTtl.url}/api/a`);
    expect((await call(`${withoutTtl.url}/api/a`)).xCache).toBe("MISS");
    expect(upstream.requests).toHaveLength(3);
  });

  it("expires entries: after max-age the next request goes upstream again", async () => {
    const upstream = await upstreamWith({ "cache-control": "max-age=10" });
    const clock = manualClock();
    const gw = await cachedGateway(upstream.origin, {}, { clock });
    await call(`${gw.url}/api/x`);
    clock.advance(9_000);
    expect(await call(`${gw.url}/api/x`)).toMatchObject({ xCache: "HIT", body: "response 1" });
    clock.advance(2_000);
    expect(await call(`${gw.url}/api/x`)).toMatchObject({ xCache: "MISS", body: "response 2" });
  });

  it("answers other methods from the upstream with X-Cache: BYPASS", async () => {
    const upstream = await upstreamWith({ "cache-control": "max-age=60" });
    const gw = await cachedGateway(upstream.origin);
    expect(await call(`${gw.url}/api/items`, { method: "POST" })).toMatchObject({ status: 200, xCache: "BYPASS" });
    expect(await call(`${gw.url}/api/items`, { method: "POST" })).toMatchObject({ status: 200, xCache: "BYPASS" });
    expect(upstream.requests).toHaveLength(2);
    const events = await gw.recorder.waitFor(2);
    expect(events.map((event) => completed(event).cacheStatus)).toEqual(["bypass", "bypass"]);
  });

  it("leaves routes without a cache untouched: no X-Cache, cacheStatus none", async () => {
    const upstream = await upstreamWith({ "cache-control": "max-age=60" });
    const gw = await cachedGateway(upstream.origin, {}, { routes: [{ id: "plain", match: { pathPrefix: "/plain" }, upstream: "api" }] });
    expect((await call(`${gw.url}/plain`)).xCache).toBeUndefined();
    expect((await call(`${gw.url}/plain`)).xCache).toBeUndefined();
    expect(upstream.requests).toHaveLength(2);
    const events = await gw.recorder.waitFor(2);
    expect(events.map((event) => completed(event).cacheStatus)).toEqual(["none", "none"]);
  });
});

describe("response cache: what is not stored", () => {
  it.each([
    ["no-store", { "cache-control": "no-store, max-age=60" }],
    ["private", { "cache-control": "private, max-age=60" }],
    ["no-cache", { "cache-control": "no-cache, max-age=60" }],
    ["Set-Cookie", { "cache-control": "max-age=60", "set-cookie": "session=abc" }],
    ["Vary on a header outside the key", { "cache-control": "max-age=60", vary: "accept-language" }],
    ["Vary: *", { "cache-control": "max-age=60", vary: "*" }],
  ])("%s: every request goes upstream (X-Cache: MISS, cacheStatus miss)", async (_name, headers) => {
    const upstream = await upstreamWith(headers);
    const gw = await cachedGateway(upstream.origin, { ttlSeconds: 60 });
    const answers = [await call(`${gw.url}/api/x`), await call(`${gw.url}/api/x`)];
    expect(answers.map((answer) => [answer.xCache, answer.body])).toEqual([
      ["MISS", "response 1"],
      ["MISS", "response 2"],
    ]);
    expect(upstream.requests).toHaveLength(2);
    const events = await gw.recorder.waitFor(2);
    expect(events.map((event) => completed(event).cacheStatus)).toEqual(["miss", "miss"]);
  });

  it("stores Set-Cookie responses only when the route allows it", async () => {
    const upstream = await upstreamWith({ "cache-control": "max-age=60", "set-cookie": "theme=dark" });
    const gw = await cachedGateway(upstream.origin, { allowSetCookie: true });
    await call(`${gw.url}/api/x`);
    const res = await request(`${gw.url}/api/x`);
    await res.body.dump();
    expect(res.headers["x-cache"]).toBe("HIT");
    expect(res.headers["set-cookie"]).toBe("theme=dark");
    expect(upstream.requests).toHaveLength(1);
  });

  it("does not store a response larger than maxEntryBytes", async () => {
    const upstream = await upstreamWith({ "cache-control": "max-age=60" }, () => "x".repeat(2_000));
    const gw = await cachedGateway(upstream.origin, { maxEntryBytes: 1_000 });
    expect((await call(`${gw.url}/api/big`)).body).toHaveLength(2_000);
    expect((await call(`${gw.url}/api/big`)).xCache).toBe("MISS");
    expect(upstream.requests).toHaveLength(2);
  });

  it("does not store a chunked response that outgrows maxEntryBytes", async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.write("a".repeat(600));
      res.end("b".repeat(600));
    });
    cleanups.push(() => upstream.close());
    const gw = await cachedGateway(upstream.origin, { maxEntryBytes: 1_000 });
    expect((await call(`${gw.url}/api/chunked`)).body).toHaveLength(1_200);
    expect((await call(`${gw.url}/api/chunked`)).xCache).toBe("MISS");
    expect(upstream.requests).toHaveLength(2);
  });

  it("does not store a 500", async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(500, { "cache-control": "max-age=60", "content-length": "4" });
      res.end("oops");
    });
    cleanups.push(() => upstream.close());
    const gw = await cachedGateway(upstream.origin);
    await call(`${gw.url}/api/x`);
    expect(await call(`${gw.url}/api/x`)).toMatchObject({ status: 500, xCache: "MISS" });
    expect(upstream.requests).toHaveLength(2);
  });
});

describe("response cache: Vary", () => {
  it("keys entries by the route's vary headers", async () => {
    const upstream = await startUpstream((req, res) => {
      const text = `for ${req.headers.accept ?? "nothing"}`;
      res.writeHead(200, { "cache-control": "max-age=60", vary: "Accept", "content-length": String(text.length) });
      res.end(text);
    });
    cleanups.push(() => upstream.close());
    const gw = await cachedGateway(upstream.origin, { vary: ["Accept"] });
    const json = { accept: "application/json" };
    const xml = { accept: "application/xml" };
    expect(await call(`${gw.url}/api/v`, { headers: json })).toMatchObject({ xCache: "MISS", body: "for application/json" });
    expect(await call(`${gw.url}/api/v`, { headers: xml })).toMatchObject({ xCache: "MISS", body: "for application/xml" });
    expect(await call(`${gw.url}/api/v`, { headers: json })).toMatchObject({ xCache: "HIT", body: "for application/json" });
    expect(await call(`${gw.url}/api/v`, { headers: xml })).toMatchObject({ xCache: "HIT", body: "for application/xml" });
    expect(upstream.requests).toHaveLength(2);
  });
});

describe("response cache: collapsed misses", () => {
  it("100 concurrent misses for one key make exactly one upstream request; the others are answered from it", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const upstream = await startUpstream((_req, res) => {
      void held.then(() => {
        res.writeHead(200, { "cache-control": "max-age=60", "content-length": "9" });
        res.end("collapsed");
      });
    });
    cleanups.push(() => upstream.close());
    const gw = await cachedGateway(upstream.origin);

    const answers = Promise.all(Array.from({ length: 100 }, () => call(`${gw.url}/api/hot`)));
    await waitFor("100 requests in flight", () => gw.gateway.inFlight === 100 && upstream.requests.length === 1);
    release();
    const results = await answers;

    expect(upstream.requests).toHaveLength(1);
    expect(results.every((answer) => answer.status === 200 && answer.body === "collapsed")).toBe(true);
    expect(results.filter((answer) => answer.xCache === "MISS")).toHaveLength(1);
    expect(results.filter((answer) => answer.xCache === "HIT")).toHaveLength(99);
    const events = await gw.recorder.waitFor(100);
    expect(events).toHaveLength(100);
    const statuses = events.map((event) => completed(event).cacheStatus);
    expect(statuses.filter((status) => status === "miss")).toHaveLength(1);
    expect(statuses.filter((status) => status === "hit")).toHaveLength(99);
    expect(events.reduce((sum, event) => sum + completed(event).attempts, 0)).toBe(1);
    const lookups = (await gw.registry.getSingleMetric("tollgate_cache_lookups_total")?.get())?.values ?? [];
    const byResult = Object.fromEntries(lookups.map((value) => [String(value.labels.result), value.value]));
    expect(byResult).toEqual({ hit: 0, stale: 0, miss: 1, collapsed: 99, bypass: 0 });
    expect((await gw.registry.getSingleMetric("tollgate_cache_memory_entries")?.get())?.values[0]?.value).toBe(1);
  });

  it("when the leader's response may not be stored, the waiting requests go upstream themselves", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let n = 0;
    const upstream = await startUpstream((_req, res) => {
      const text = `private ${++n}`;
      const answer = (): void => {
        res.writeHead(200, { "cache-control": "no-store", "content-length": String(text.length) });
        res.end(text);
      };
      if (n === 1) void held.then(answer);
      else answer();
    });
    cleanups.push(() => upstream.close());
    const gw = await cachedGateway(upstream.origin);

    const answers = Promise.all(Array.from({ length: 10 }, () => call(`${gw.url}/api/me`)));
    await waitFor("10 requests in flight", () => gw.gateway.inFlight === 10 && upstream.requests.length === 1);
    release();
    const results = await answers;

    expect(upstream.requests).toHaveLength(10);
    expect(new Set(results.map((answer) => answer.body)).size).toBe(10);
    expect(results.every((answer) => answer.xCache === "MISS")).toBe(true);
    const events = await gw.recorder.waitFor(10);
    expect(events.map((event) => completed(event)).every((data) => data.cacheStatus === "miss" && data.attempts === 1)).toBe(true);
  });
});

describe("response cache: stale responses", () => {
  it("stale-while-revalidate: serves STALE and refreshes once in the background", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let n = 0;
    const upstream = await startUpstream((_req, res) => {
      const text = `version ${++n}`;
      const answer = (): void => {
        res.writeHead(200, { "cache-control": "max-age=1, stale-while-revalidate=30", "content-length": String(text.length) });
        res.end(text);
      };
      if (n === 2) void held.then(answer);
      else answer();
    });
    cleanups.push(() => upstream.close());
    const clock = manualClock();
    const gw = await cachedGateway(upstream.origin, {}, { clock });

    await call(`${gw.url}/api/s`);
    clock.advance(5_000);
    const stale = [await call(`${gw.url}/api/s`), await call(`${gw.url}/api/s`), await call(`${gw.url}/api/s`)];
    expect(stale.map((answer) => [answer.xCache, answer.body, answer.age])).toEqual([
      ["STALE", "version 1", "5"],
      ["STALE", "version 1", "5"],
      ["STALE", "version 1", "5"],
    ]);
    // One refresh, however many stale answers went out while it ran.
    expect(upstream.requests).toHaveLength(2);
    release();
    await waitFor("the refreshed entry", () => n === 2);
    let fresh: Answer | undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      fresh = await call(`${gw.url}/api/s`);
      if (fresh.body === "version 2") break;
      await delay(10);
    }
    expect(fresh).toMatchObject({ xCache: "HIT", body: "version 2" });
    expect(upstream.requests).toHaveLength(2);

    const events = gw.recorder.events;
    expect(events.length).toBeGreaterThanOrEqual(5);
    expect(completed(events[0])).toMatchObject({ cacheStatus: "miss", attempts: 1 });
    for (const event of events.slice(1, 4)) expect(completed(event)).toMatchObject({ cacheStatus: "stale", attempts: 0, upstream: "" });
    // The background refresh is the gateway's own request: no event of its own.
    expect(events.every((event) => event.type === "RequestCompleted")).toBe(true);
  });

  it("stale-if-error: while the upstream is down (closed port) the expired entry answers, marked, as a fallback", async () => {
    const upstream = await upstreamWith({ "cache-control": "max-age=1, stale-if-error=60" });
    const clock = manualClock();
    const gw = await cachedGateway(upstream.origin, {}, { clock });
    expect(await call(`${gw.url}/api/sie`)).toMatchObject({ xCache: "MISS", body: "response 1" });

    await upstream.close();
    clock.advance(10_000);
    const stale = await call(`${gw.url}/api/sie`);
    expect(stale).toMatchObject({ status: 200, body: "response 1", xCache: "STALE", fallback: "stale", age: "10" });

    clock.advance(60_000);
    const gone = await call(`${gw.url}/api/sie`);
    expect(gone).toMatchObject({ status: 502, xCache: "MISS" });

    const events = await gw.recorder.waitFor(3);
    expect(events).toHaveLength(3);
    expect(events[1]?.type).toBe("RequestFailed");
    expect((events[1] as RequestFailed).data).toMatchObject({ status: 200, fallbackServed: true, error: "upstream-error", attempts: 1 });
    expect((events[2] as RequestFailed).data).toMatchObject({ status: 502, fallbackServed: false });
  });

  it("stale-if-error from the route's default, and only for the route's fallback.on failures", async () => {
    const upstream = await upstreamWith({ "cache-control": "max-age=1" });
    const clock = manualClock();
    const gw = await cachedGateway(upstream.origin, {}, {
      clock,
      routes: [
        { id: "sie", match: { pathPrefix: "/sie" }, upstream: "api", cache: { staleIfErrorSeconds: 300 } },
        {
          id: "timeouts-only",
          match: { pathPrefix: "/timeouts-only" },
          upstream: "api",
          cache: { staleIfErrorSeconds: 300 },
          fallback: { on: ["timeout"], body: "static" },
        },
      ],
    });
    await call(`${gw.url}/sie`);
    await call(`${gw.url}/timeouts-only`);
    await upstream.close();
    clock.advance(30_000);
    expect(await call(`${gw.url}/sie`)).toMatchObject({ status: 200, xCache: "STALE", fallback: "stale" });
    // Connection refused is an upstream-error, which this route's fallback does not cover.
    expect(await call(`${gw.url}/timeouts-only`)).toMatchObject({ status: 502, xCache: "MISS", fallback: undefined });
  });

  it("must-revalidate is never served stale", async () => {
    const upstream = await upstreamWith({ "cache-control": "max-age=1, must-revalidate, stale-if-error=60" });
    const clock = manualClock();
    const gw = await cachedGateway(upstream.origin, {}, { clock });
    await call(`${gw.url}/api/mr`);
    await upstream.close();
    clock.advance(5_000);
    expect(await call(`${gw.url}/api/mr`)).toMatchObject({ status: 502 });
  });
});

describe("response cache: private routes", () => {
  it("keys entries by consumer, after authentication: each consumer gets its own, no key gets none", async () => {
    const upstream = await startUpstream((req, res) => {
      const text = `for ${String(req.headers["x-consumer-id"])}`;
      res.writeHead(200, { "cache-control": "public, max-age=60", "content-length": String(text.length) });
      res.end(text);
    });
    cleanups.push(() => upstream.close());
    const fixture = new ControlPlaneFixture().plan("free", { routes: ["me", "shared"] }).consumer("acme").consumer("globex");
    const acme = { "x-api-key": fixture.issueKey("cred-acme", "acme") };
    const globex = { "x-api-key": fixture.issueKey("cred-globex", "globex") };
    fixture.subscribe("sub-acme", "acme", "free");
    fixture.subscribe("sub-globex", "globex", "free");
    const gw = await startGateway({
      identity: fixture.index,
      config: {
        upstreams: { api: { targets: [upstream.origin] } },
        routes: [
          { id: "me", match: { pathPrefix: "/me" }, upstream: "api", auth: [{ type: "api-key" }], cache: { private: true } },
          { id: "shared", match: { pathPrefix: "/shared" }, upstream: "api", auth: [{ type: "api-key" }], cache: {} },
        ],
      },
    });
    cleanups.push(() => gw.close());

    expect(await call(`${gw.url}/me`, { headers: acme })).toMatchObject({ xCache: "MISS", body: "for acme" });
    expect(await call(`${gw.url}/me`, { headers: globex })).toMatchObject({ xCache: "MISS", body: "for globex" });
    expect(await call(`${gw.url}/me`, { headers: acme })).toMatchObject({ xCache: "HIT", body: "for acme" });
    expect(await call(`${gw.url}/me`, { headers: globex })).toMatchObject({ xCache: "HIT", body: "for globex" });
    // The cache sits after the policies: an entry is never served to a caller the route refuses.
    expect(await call(`${gw.url}/me`)).toMatchObject({ status: 401, xCache: undefined });
    // A shared entry is one for every admitted consumer.
    expect(await call(`${gw.url}/shared`, { headers: acme })).toMatchObject({ xCache: "MISS", body: "for acme" });
    expect(await call(`${gw.url}/shared`, { headers: globex })).toMatchObject({ xCache: "HIT", body: "for acme" });
    expect(await call(`${gw.url}/shared`)).toMatchObject({ status: 401 });
    expect(upstream.requests).toHaveLength(3);

    const events = await gw.recorder.waitFor(8);
    expect(events).toHaveLength(8);
    expect(completed(events[2])).toMatchObject({ consumerId: "acme", subscriptionId: "sub-acme", cacheStatus: "hit", attempts: 0 });
    expect(completed(events[3])).toMatchObject({ consumerId: "globex", cacheStatus: "hit" });
    expect(events[4]).toMatchObject({ type: "RequestRejected", data: { stage: "auth" } });
  });

  it("refuses private without auth, naming the path", async () => {
    await expect(
      startGateway({
        config: {
          upstreams: { api: { targets: ["http://127.0.0.1:9"] } },
          routes: [{ id: "api", match: { pathPrefix: "/api" }, upstream: "api", cache: { private: true } }],
        },
      }),
    ).rejects.toThrow(/routes\.0\.cache\.private.*private needs auth|routes\[0\]\.cache\.private: private needs auth/);
  });
});

describe("response cache: purge", () => {
  const token = "purge-token-0123456789";

  async function purgeSetup(): Promise<{ gw: TestGateway; upstream: TestUpstream; purge: (body: unknown, auth?: string) => Promise<{ status: number; body: string }> }> {
    const upstream = await upstreamWith({ "cache-control": "max-age=600" });
    const gw = await cachedGateway(upstream.origin, {}, {
      routes: [
        { id: "a", match: { pathPrefix: "/a" }, upstream: "api", cache: {} },
        { id: "b", match: { pathPrefix: "/b" }, upstream: "api", cache: {} },
      ],
    });
    const status = createStatusServer({
      host: "127.0.0.1",
      port: 0,
      registry: gw.registry,
      readiness: gw.readiness,
      cachePurge: { token, purge: (filter) => gw.gateway.purgeCache(filter) },
    });
    const { port } = await status.listen();
    cleanups.push(() => status.close());
    const purge = async (body: unknown, auth = `Bearer ${token}`): Promise<{ status: number; body: string }> => {
      const res = await request(`http://127.0.0.1:${port}/cache/purge`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: auth },
        body: JSON.stringify(body),
      });
      return { status: res.statusCode, body: await res.body.text() };
    };
    for (const path of ["/a/1", "/a/2", "/b/x/1", "/b/y/1"]) await call(`${gw.url}${path}`);
    return { gw, upstream, purge };
  }

  async function xCaches(gw: TestGateway, paths: string[]): Promise<(string | undefined)[]> {
    const results: (string | undefined)[] = [];
    for (const path of paths) results.push((await call(`${gw.url}${path}`)).xCache);
    return results;
  }

  it("purges a route's entries", async () => {
    const { gw, purge } = await purgeSetup();
    expect(await purge({ routeId: "a" })).toEqual({ status: 200, body: `${JSON.stringify({ purged: 2 })}\n` });
    expect(await xCaches(gw, ["/a/1", "/a/2", "/b/x/1", "/b/y/1"])).toEqual(["MISS", "MISS", "HIT", "HIT"]);
  });

  it("purges by key prefix (host + path), within a route or across routes", async () => {
    const { gw, purge } = await purgeSetup();
    expect(await purge({ routeId: "b", keyPrefix: "127.0.0.1/b/x" })).toMatchObject({ status: 200, body: `${JSON.stringify({ purged: 1 })}\n` });
    expect(await xCaches(gw, ["/a/1", "/a/2", "/b/x/1", "/b/y/1"])).toEqual(["HIT", "HIT", "MISS", "HIT"]);
    expect(await purge({ keyPrefix: "127.0.0.1/a/" })).toMatchObject({ status: 200, body: `${JSON.stringify({ purged: 2 })}\n` });
    expect(await xCaches(gw, ["/a/1", "/a/2"])).toEqual(["MISS", "MISS"]);
  });

  it("refuses a missing or wrong token (401) and an empty filter (400), purging nothing", async () => {
    const { gw, purge } = await purgeSetup();
    const wrong = await purge({ routeId: "a" }, "Bearer not-the-token");
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body)).toMatchObject({ code: "unauthorized" });
    expect(wrong.body).not.toContain(token);
    expect((await purge({ routeId: "a" }, "")).status).toBe(401);
    const empty = await purge({});
    expect(empty.status).toBe(400);
    const problem = JSON.parse(empty.body) as { code: string; detail: string };
    expect(problem.code).toBe("bad-request");
    expect(problem.detail).toContain("name a routeId, a keyPrefix or both");
    expect(await xCaches(gw, ["/a/1", "/b/x/1"])).toEqual(["HIT", "HIT"]);
  });

  it("is disabled (404) without an admin token", async () => {
    const status = createStatusServer({
      host: "127.0.0.1",
      port: 0,
      registry: (await cachedGateway("http://127.0.0.1:9")).registry,
      readiness: new (await import("./readiness.js")).Readiness(),
      cachePurge: { token: null, purge: () => Promise.resolve(0) },
    });
    const { port } = await status.listen();
    cleanups.push(() => status.close());
    const res = await request(`http://127.0.0.1:${port}/cache/purge`, { method: "POST", body: "{}" });
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(await res.body.text())).toMatchObject({ code: "cache-purge-disabled" });
  });
});

describe("response cache: the shared Redis store", () => {
  it("a Redis that is down never fails a request: every lookup is a miss served by the upstream", async () => {
    const closed = await startUpstream();
    const deadPort = closed.port;
    await closed.close();
    const upstream = await upstreamWith({ "cache-control": "max-age=60" });
    const gw = await cachedGateway(upstream.origin, {}, { extra: { cache: { store: "redis", redis: { url: `redis://127.0.0.1:${deadPort}`, timeoutMs: 100 } } } });
    const answers = [];
    for (let index = 0; index < 5; index++) answers.push(await call(`${gw.url}/api/x`));
    expect(answers.map((answer) => [answer.status, answer.xCache])).toEqual(Array.from({ length: 5 }, () => [200, "MISS"]));
    expect(upstream.requests).toHaveLength(5);
    const events = await gw.recorder.waitFor(5);
    expect(events.map((event) => completed(event).cacheStatus)).toEqual(["miss", "miss", "miss", "miss", "miss"]);
    expect(gw.log.lines().filter((line) => line.level === "warn" && String(line.msg).includes("Redis unavailable"))).toHaveLength(1);
  });

  it("one gateway's stored response is a hit on another gateway sharing the Redis", async () => {
    const keyPrefix = uniquePrefix("cache");
    const redis: Redis = await connectSharedRedis();
    cleanups.push(async () => {
      await deleteKeys(redis, keyPrefix);
      redis.disconnect();
    });
    const upstream = await upstreamWith({ "cache-control": "max-age=60" });
    const extra: Partial<GatewayConfigInput> = { cache: { store: "redis", keyPrefix, redis: { url: sharedRedisUrl, timeoutMs: 2_000 } } };
    const first = await cachedGateway(upstream.origin, {}, { extra });
    const second = await cachedGateway(upstream.origin, {}, { extra });

    expect(await call(`${first.url}/api/shared`)).toMatchObject({ xCache: "MISS", body: "response 1" });
    // The store is written without waiting; the entry shows up in Redis shortly after the response.
    let keys: string[] = [];
    for (let attempt = 0; attempt < 100 && keys.length === 0; attempt++) {
      keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length === 0) await delay(10);
    }
    expect(keys).toEqual([`${keyPrefix}api|127.0.0.1/api/shared`]);
    expect(await call(`${second.url}/api/shared`)).toMatchObject({ xCache: "HIT", body: "response 1" });
    expect(upstream.requests).toHaveLength(1);
    expect(completed((await second.recorder.waitFor(1))[0])).toMatchObject({ cacheStatus: "hit", attempts: 0 });

    expect(await second.gateway.purgeCache({ routeId: "api" })).toBe(1);
    expect(await redis.keys(`${keyPrefix}*`)).toEqual([]);
    expect((await call(`${first.url}/api/shared`)).xCache).toBe("MISS");
  });
});

