import { Agent, request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { problemContentType } from "./errors/problem-response.js";
import { ControlPlaneFixture } from "./test-support/control-plane-fixture.js";
import { startGateway, type StartGatewayOptions, type TestGateway } from "./test-support/start-gateway.js";
import { startUpstream, type TestUpstream } from "./test-support/upstream-server.js";

let client: Agent;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  client = new Agent({ keepAliveTimeout: 1_000 });
  cleanups.push(() => client.close());
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  gw: TestGateway;
  upstream: TestUpstream;
  fixture: ControlPlaneFixture;
  key: string;
}

/** A gateway with an API-key route (/orders) and an open route (/open), and a consumer subscribed to a plan covering /orders. */
async function setup(options: { queryParam?: string; ready?: boolean } & Pick<StartGatewayOptions, "config"> = {}): Promise<Setup> {
  const upstream = await startUpstream();
  cleanups.push(() => upstream.close());
  const fixture = new ControlPlaneFixture({ ready: options.ready ?? true }).plan("free", { routes: ["orders"] }).consumer("acme");
  const key = fixture.issueKey("cred-1", "acme");
  fixture.subscribe("sub-1", "acme", "free");
  const gw = await startGateway({
    identity: fixture.index,
    config: {
      upstreams: { api: { targets: [upstream.origin] } },
      routes: [
        { id: "orders", match: { pathPrefix: "/orders" }, upstream: "api", auth: [{ type: "api-key", queryParam: options.queryParam ?? null }] },
        { id: "open", match: { pathPrefix: "/open" }, upstream: "api" },
      ],
      ...options.config,
    },
  });
  cleanups.push(() => gw.close());
  return { gw, upstream, fixture, key };
}

async function call(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }> {
  const res = await request(url, { dispatcher: client, headers });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> };
}

describe("routes with API-key auth", () => {
  it("forwards a request with a valid key, with the consumer and plan in headers and without the key", async () => {
    const { gw, upstream, key } = await setup();
    const res = await call(`${gw.url}/orders/1`, { "x-api-key": key, "x-consumer-id": "mallory", "X-Plan-Id": "enterprise" });
    expect(res.status).toBe(200);
    const forwarded = upstream.requests[0]?.rawHeaders ?? [];
    const lower = forwarded.map((value, index) => (index % 2 === 0 ? value.toLowerCase() : value));
    expect(lower).not.toContain("x-api-key");
    expect(lower.filter((name) => name === "x-consumer-id")).toHaveLength(1);
    expect(upstream.requests[0]?.headers["x-consumer-id"]).toBe("acme");
    expect(upstream.requests[0]?.headers["x-plan-id"]).toBe("free");
    expect(forwarded.join("\n")).not.toContain(key);

    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({
      type: "RequestCompleted",
      data: { status: 200, consumerId: "acme", credentialId: "cred-1", planId: "free", subscriptionId: "sub-1", controlPlaneVersion: "4" },
    });
  });

  it("answers 401 problem+json with WWW-Authenticate for a missing or a wrong key, recorded as stage auth without the key", async () => {
    const { gw, upstream, key } = await setup();
    const missing = await call(`${gw.url}/orders`);
    expect(missing.status).toBe(401);
    expect(missing.headers["content-type"]).toBe(problemContentType);
    expect(missing.headers["www-authenticate"]).toBe('ApiKey realm="tollgate"');
    expect(missing.body).toMatchObject({ code: "unauthorized", status: 401, detail: "no credentials in the request" });

    const wrongKey = `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`;
    const wrong = await call(`${gw.url}/orders`, { "x-api-key": wrongKey });
    expect(wrong.status).toBe(401);
    expect(wrong.headers["www-authenticate"]).toBe('ApiKey realm="tollgate", error="invalid_key"');
    expect(upstream.requests).toHaveLength(0);

    const events = await gw.recorder.waitFor(2);
    expect(events.map((event) => [event.type, event.type === "RequestRejected" ? event.data.stage : null, event.data.status])).toEqual([
      ["RequestRejected", "auth", 401],
      ["RequestRejected", "auth", 401],
    ]);
    expect(JSON.stringify(events)).not.toContain(wrongKey);
    expect(JSON.stringify(events)).not.toContain(key);
    expect(events[0]?.data.controlPlaneVersion).toBe("4");
  });

  it("answers 403 once the subscription is suspended, at once, and 200 again after reactivation", async () => {
    const { gw, fixture, key } = await setup();
    fixture.suspend("sub-1", "acme");
    const suspended = await call(`${gw.url}/orders`, { "x-api-key": key });
    expect(suspended.status).toBe(403);
    expect(suspended.body).toMatchObject({ code: "forbidden", detail: 'subscription "sub-1" is suspended' });
    fixture.reactivate("sub-1", "acme");
    expect((await call(`${gw.url}/orders`, { "x-api-key": key })).status).toBe(200);
    const events = await gw.recorder.waitFor(2);
    expect(events[0]).toMatchObject({ type: "RequestRejected", data: { stage: "authz", status: 403, consumerId: "acme", subscriptionId: "sub-1", controlPlaneVersion: "5" } });
    expect(events[1]).toMatchObject({ type: "RequestCompleted", data: { controlPlaneVersion: "6" } });
  });

  it("strips a key sent in the query before forwarding, and never records it", async () => {
    const { gw, upstream, key } = await setup({ queryParam: "api_key" });
    const res = await call(`${gw.url}/orders/1?page=2&api_key=${key}`);
    expect(res.status).toBe(200);
    expect(upstream.requests[0]?.url).toBe("/orders/1?page=2");
    const [event] = await gw.recorder.waitFor(1);
    expect(JSON.stringify(event)).not.toContain(key);
  });

  it("strips client-sent identity headers on routes without auth too", async () => {
    const { gw, upstream } = await setup();
    const res = await call(`${gw.url}/open`, { "X-Consumer-Id": "mallory", "x-plan-id": "enterprise" });
    expect(res.status).toBe(200);
    expect(upstream.requests[0]?.headers["x-consumer-id"]).toBeUndefined();
    expect(upstream.requests[0]?.headers["x-plan-id"]).toBeUndefined();
    const [event] = await gw.recorder.waitFor(1);
    expect(event?.data).toMatchObject({ consumerId: null, planId: null, controlPlaneVersion: "4" });
  });

  it("uses the configured identity header names", async () => {
    const { gw, upstream, key } = await setup({ config: { identity: { consumerIdHeader: "X-Caller", planIdHeader: "x-tier" } } });
    await call(`${gw.url}/orders`, { "x-api-key": key, "x-caller": "mallory" });
    expect(upstream.requests[0]?.headers).toMatchObject({ "x-caller": "acme", "x-tier": "free" });
    expect(upstream.requests[0]?.headers["x-consumer-id"]).toBeUndefined();
  });

  it("answers 503 on auth routes until the index has caught up, while open routes work", async () => {
    const { gw, key } = await setup({ ready: false });
    const res = await call(`${gw.url}/orders`, { "x-api-key": key });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: "auth-unavailable", retryable: true });
    expect((await call(`${gw.url}/open`)).status).toBe(200);
  });
});
