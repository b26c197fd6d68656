import { Agent, request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "./clock.js";
import type { GatewayConfigInput } from "./config/gateway-config.js";
import { problemContentType } from "./errors/problem-response.js";
import { ControlPlaneFixture } from "./test-support/control-plane-fixture.js";
import { startGateway, type TestGateway } from "./test-support/start-gateway.js";
import { startUpstream, type TestUpstream } from "./test-support/upstream-server.js";

let client: Agent;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  client = new Agent({ keepAliveTimeout: 1_000, connections: 50 });
  cleanups.push(() => client.close());
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A clock the test moves: the limiters read epochMs, request timing reads monotonicMs. */
function manualClock(epochMs = Date.UTC(2026, 10, 26, 10, 0, 0)): Clock & { advance(ms: number): void } {
  let now = epochMs;
  let readings = 0;
  return { epochMs: () => now, monotonicMs: () => readings++, advance: (ms) => void (now += ms) };
}

interface Setup {
  gw: TestGateway;
  upstream: TestUpstream;
  fixture: ControlPlaneFixture;
  key: string;
  clock: ReturnType<typeof manualClock>;
}

async function setup(plan: Parameters<ControlPlaneFixture["plan"]>[1], config: Partial<GatewayConfigInput> = {}, billingAnchor?: string): Promise<Setup> {
  const upstream = await startUpstream();
  cleanups.push(() => upstream.close());
  const fixture = new ControlPlaneFixture().plan("gold", plan).consumer("acme");
  const key = fixture.issueKey("cred-1", "acme");
  fixture.subscribe("sub-1", "acme", "gold", billingAnchor === undefined ? {} : { billingAnchor });
  const clock = manualClock();
  const gw = await startGateway({
    identity: fixture.index,
    clock,
    config: {
      upstreams: { api: { targets: [upstream.origin] } },
      routes: [{ id: "orders", match: { pathPrefix: "/orders" }, upstream: "api", auth: [{ type: "api-key" }] }],
      ...config,
    },
  });
  cleanups.push(() => gw.close());
  return { gw, upstream, fixture, key, clock };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

async function call(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(url, { dispatcher: client, headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const burst = (count: number, url: string, headers: Record<string, string>): Promise<Answer[]> =>
  Promise.all(Array.from({ length: count }, () => call(url, headers)));

describe("rate limits on the request path (memory store)", () => {
  it("1,000 concurrent requests on one key with a limit of 100 per window admit exactly 100; the 429s name the limit", async () => {
    const { gw, upstream, key } = await setup({ rateLimits: [{ name: "per-minute", points: 100, windowSeconds: 60, algorithm: "fixed-window" }] });
    const answers = await burst(1_000, `${gw.url}/orders`, { "x-api-key": key });
    const admitted = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(admitted).toHaveLength(100);
    expect(refused).toHaveLength(900);
    expect(upstream.requests).toHaveLength(100);

    const last = refused[0] as Answer;
    expect(last.headers["content-type"]).toBe(problemContentType);
    expect(last.body).toMatchObject({ code: "rate-limited", status: 429, limit: "per-minute" });
    expect(String(last.body.detail)).toContain('Rate limit "per-minute" (100 requests per 60 s) exceeded');
    expect(last.headers["retry-after"]).toBe("60");
    expect(last.headers["ratelimit-limit"]).toBe("100");
    expect(last.headers["ratelimit-remaining"]).toBe("0");
    expect(last.headers["ratelimit-policy"]).toBe("100;w=60");
    const remaining = admitted.map((answer) => Number(answer.headers["ratelimit-remaining"])).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 100 }, (_, index) => index));

    const events = await gw.recorder.waitFor(1_000);
    const rejected = events.filter((event) => event.type === "RequestRejected");
    expect(rejected).toHaveLength(900);
    expect(rejected.every((event) => event.type === "RequestRejected" && event.data.stage === "rate-limit" && event.data.limit === "per-minute")).toBe(true);
    const metrics = await gw.registry.getSingleMetricAsString("tollgate_rate_limit_rejections_total");
    expect(metrics).toContain('route="orders",limit="per-minute"} 900');
  });

  it("a request refused by the hourly limit consumes nothing from the per-second one, and the reverse", async () => {
    const { gw, key, clock } = await setup({
      rateLimits: [
        { name: "per-second", points: 5, windowSeconds: 1, algorithm: "fixed-window" },
        { name: "per-hour", points: 8, windowSeconds: 3_600, algorithm: "fixed-window" },
      ],
    });
    const statuses = async (count: number): Promise<unknown[]> =>
      (await burst(count, `${gw.url}/orders`, { "x-api-key": key })).map((answer) => (answer.status === 200 ? 200 : answer.body.limit));
    // Second 1: 5 admitted; the per-second limit refuses 5, which take nothing from the hourly one.
    expect((await statuses(10)).sort()).toEqual([200, 200, 200, 200, 200, "per-second", "per-second", "per-second", "per-second", "per-second"]);
    clock.advance(1_000);
    // Second 2: the hourly limit has 3 left (not 0), so 3 are admitted, then it refuses.
    const second = await statuses(5);
    expect(second.filter((status) => status === 200)).toHaveLength(3);
    expect(second.filter((status) => status === "per-hour")).toHaveLength(2);
    clock.advance(1_000);
    // Second 3: the hourly refusals took nothing from the per-second limit either: it is fresh,
    // and every request is refused by the hourly limit alone.
    const third = await call(`${gw.url}/orders`, { "x-api-key": key });
    expect(third.body).toMatchObject({ limit: "per-hour" });
    expect(third.headers["ratelimit-policy"]).toBe("5;w=1, 8;w=3600");
    await gw.recorder.waitFor(16);
  });

  it("limits an anonymous route per client IP with the route's own limit", async () => {
    const { gw } = await setup(
      {},
      {
        routes: [
          { id: "orders", match: { pathPrefix: "/orders" }, upstream: "api", auth: [{ type: "api-key" }] },
          { id: "public", match: { pathPrefix: "/public" }, upstream: "api", rateLimit: { limits: [{ name: "per-ip", points: 3, windowSeconds: 60, scope: "ip" }] } },
        ],
      },
    );
    const answers = await burst(10, `${gw.url}/public`, {});
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(3);
    expect(answers.filter((answer) => answer.status === 429).every((answer) => answer.body.limit === "per-ip")).toBe(true);
    await gw.recorder.waitFor(10);
  });
});

describe("quotas on the request path (memory store)", () => {
  it("a hard quota of 500 admits exactly 500 of 1,000 concurrent requests; every response carries the quota headers", async () => {
    const { gw, upstream, key } = await setup({ quota: { limit: 500, period: "day", enforcement: "hard" } });
    const answers = await burst(1_000, `${gw.url}/orders`, { "x-api-key": key });
    const admitted = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(admitted).toHaveLength(500);
    expect(refused).toHaveLength(500);
    expect(upstream.requests).toHaveLength(500);
    for (const answer of answers) {
      expect(answer.headers["quota-limit"]).toBe("500");
      // The clock stands at 10:00 UTC: the day ends in 14 h.
      expect(answer.headers["quota-reset"]).toBe(String(14 * 3_600));
    }
    expect(refused[0]?.body).toMatchObject({ code: "quota-exceeded", limit: "daily-quota" });
    expect(refused[0]?.headers["retry-after"]).toBe(String(14 * 3_600));
    const events = await gw.recorder.waitFor(1_000);
    const rejected = events.filter((event) => event.type === "RequestRejected");
    expect(rejected.every((event) => event.type === "RequestRejected" && event.data.stage === "quota" && event.data.limit === "daily-quota")).toBe(true);
    expect(rejected).toHaveLength(500);
  });

  it("aligns the period to the subscription's billing anchor", async () => {
    // Anchored at 06:30 UTC: at 10:00 the daily period runs until 06:30 tomorrow.
    const { gw, key } = await setup({ quota: { limit: 5, period: "day", enforcement: "hard" } }, {}, "2026-01-15T06:30:00.000Z");
    const answer = await call(`${gw.url}/orders`, { "x-api-key": key });
    expect(answer.status).toBe(200);
    expect(answer.headers["quota-reset"]).toBe(String(20.5 * 3_600));
    expect(answer.headers["quota-remaining"]).toBe("4");
    await gw.recorder.waitFor(1);
  });

  it("a rate-limited request takes no unit of the quota", async () => {
    const { gw, key, clock } = await setup({
      rateLimits: [{ name: "per-minute", points: 2, windowSeconds: 60, algorithm: "fixed-window" }],
      quota: { limit: 10, period: "day", enforcement: "hard" },
    });
    const first = await burst(5, `${gw.url}/orders`, { "x-api-key": key });
    expect(first.filter((answer) => answer.status === 429).every((answer) => answer.body.limit === "per-minute")).toBe(true);
    // The quota headers are on the admitted responses only: the refused ones never reached the quota stage.
    expect(first.filter((answer) => answer.headers["quota-remaining"] !== undefined)).toHaveLength(2);
    clock.advance(60_000);
    // Two admitted, three refused by the rate limit: the quota counted only the two, so this is the third.
    const next = await call(`${gw.url}/orders`, { "x-api-key": key });
    expect(next.status).toBe(200);
    expect(next.headers["quota-remaining"]).toBe("7");
    await gw.recorder.waitFor(6);
  });
});
