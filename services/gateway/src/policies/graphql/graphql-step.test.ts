import { createHash } from "node:crypto";
import { once } from "node:events";
import { Agent, request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import type { GatewayConfigInput } from "../../config/gateway-config.js";
import { ControlPlaneFixture } from "../../test-support/control-plane-fixture.js";
import { firstBody, rawExchange } from "../../test-support/raw-http.js";
import { startGateway, type TestGateway } from "../../test-support/start-gateway.js";
import { startUpstream, type TestUpstream } from "../../test-support/upstream-server.js";

let client: Agent;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  client = new Agent({ keepAliveTimeout: 1_000 });
  cleanups.push(() => client.close());
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");
const listed = "query Listed { orders { id } }";

interface Setup {
  gw: TestGateway;
  upstream: TestUpstream;
  keys: { free: string; pro: string };
}

async function setup(graphql: Record<string, unknown> = {}, extra: Partial<GatewayConfigInput> = {}): Promise<Setup> {
  const upstream = await startUpstream();
  cleanups.push(() => upstream.close());
  const fixture = new ControlPlaneFixture().plan("free").plan("pro").consumer("acme").consumer("bigco");
  const free = fixture.issueKey("cred-free", "acme");
  const pro = fixture.issueKey("cred-pro", "bigco");
  fixture.subscribe("sub-free", "acme", "free").subscribe("sub-pro", "bigco", "pro");
  const gw = await startGateway({
    identity: fixture.index,
    config: {
      upstreams: { api: { targets: [upstream.origin] } },
      routes: [
        { id: "graph", match: { pathPrefix: "/graphql" }, upstream: "api", graphql: { maxDepth: 3, maxAliases: 2, maxComplexity: 8, ...graphql } },
        { id: "private-graph", match: { pathPrefix: "/private/graphql" }, upstream: "api", auth: [{ type: "api-key" }], graphql: { blockIntrospection: { plans: ["free"] } } },
      ],
      ...extra,
    },
  });
  cleanups.push(() => gw.close());
  return { gw, upstream, keys: { free, pro } };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(url, { dispatcher: client, method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, body: JSON.parse(text) as Record<string, unknown> };
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(url, { dispatcher: client });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

describe("GraphQL-aware routes", () => {
  it("forwards a query within the limits untouched and records its operation in the event", async () => {
    const { gw, upstream } = await setup();
    const body = { query: "query GetOrder($id: ID!) { order(id: $id) { id total } }", operationName: "GetOrder", variables: { id: "7" } };
    const answer = await post(`${gw.url}/graphql`, body);
    expect(answer.status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
    expect(JSON.parse(upstream.requests[0]?.body.toString() ?? "")).toEqual(body);
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestCompleted", data: { status: 200, graphql: { operationName: "GetOrder", operationType: "query" } } });
  });

  it("refuses a query deeper than maxDepth with 400 before the upstream, and records the operation", async () => {
    const { gw, upstream } = await setup();
    const answer = await post(`${gw.url}/graphql`, { query: "query TooDeep { a { b { c { d } } } }" });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: "graphql-limit-exceeded", detail: "the query is deeper than 3 levels" });
    expect(upstream.requests).toHaveLength(0);
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestRejected", data: { status: 400, stage: "validation", graphql: { operationName: "TooDeep", operationType: "query" } } });
  });

  it("refuses too many aliases and too many fields", async () => {
    const { gw, upstream } = await setup();
    const aliases = await post(`${gw.url}/graphql`, { query: "{ a1: a a2: a a3: a }" });
    expect(aliases.body).toMatchObject({ status: 400, detail: "the query has more than 2 aliases" });
    const fields = await post(`${gw.url}/graphql`, { query: "{ a b c d e f g h i }" });
    expect(fields.body).toMatchObject({ status: 400, detail: "the query selects more than 8 fields" });
    expect(upstream.requests).toHaveLength(0);
  });

  it("reads GET ?query=, and refuses a mutation over GET", async () => {
    const { gw, upstream } = await setup();
    const ok = await get(`${gw.url}/graphql?query=${encodeURIComponent("query Q { a }")}`);
    expect(ok.status).toBe(200);
    const mutation = await get(`${gw.url}/graphql?query=${encodeURIComponent("mutation M { pay }")}`);
    expect(mutation.body).toMatchObject({ status: 400, code: "graphql-bad-request", detail: "a mutation is accepted over POST only (GraphQL over HTTP)" });
    expect(upstream.requests.map((received) => received.method)).toEqual(["GET"]);
    const events = await gw.recorder.waitFor(2);
    expect(events.map((event) => event.data.graphql)).toEqual([
      { operationName: "Q", operationType: "query" },
      { operationName: "M", operationType: "mutation" },
    ]);
  });

  it("refuses what is not a readable GraphQL request with 400, and a body over maxBodyBytes with 413", async () => {
    const { gw, upstream } = await setup({ maxBodyBytes: 1_024 });
    expect((await post(`${gw.url}/graphql`, "{not json")).body).toMatchObject({ status: 400, code: "graphql-bad-request" });
    expect((await post(`${gw.url}/graphql`, { query: "{ a " })).body).toMatchObject({ status: 400, code: "graphql-bad-request" });
    expect((await post(`${gw.url}/graphql`, { query: "{ a }" }, { "content-type": "text/plain" })).body).toMatchObject({ status: 400, detail: "a GraphQL POST must be application/json" });
    expect((await post(`${gw.url}/graphql`, { query: `{ a } # ${"x".repeat(2_000)}` })).body).toMatchObject({ status: 413, code: "body-too-large" });
    expect(upstream.requests).toHaveLength(0);
  });

  it("blocks introspection for the plans listed, and lets other plans introspect", async () => {
    const { gw, upstream, keys } = await setup();
    const introspection = { query: "query IntrospectionQuery { __schema { queryType { name } } }" };
    const free = await post(`${gw.url}/private/graphql`, introspection, { "x-api-key": keys.free });
    expect(free.body).toMatchObject({ status: 400, code: "graphql-introspection-blocked" });
    const pro = await post(`${gw.url}/private/graphql`, introspection, { "x-api-key": keys.pro });
    expect(pro.status).toBe(200);
    const typename = await post(`${gw.url}/private/graphql`, { query: "{ __typename }" }, { "x-api-key": keys.free });
    expect(typename.status).toBe(200);
    expect(upstream.requests).toHaveLength(2);
    const events = await gw.recorder.waitFor(3);
    expect(events[0]).toMatchObject({ type: "RequestRejected", data: { planId: "free", graphql: { operationName: "IntrospectionQuery" } } });
  });

  it("blocks introspection for everyone with blockIntrospection: true", async () => {
    const { gw } = await setup({ blockIntrospection: true });
    const answer = await post(`${gw.url}/graphql`, { query: '{ __type(name: "Order") { name } }' });
    expect(answer.body).toMatchObject({ status: 400, code: "graphql-introspection-blocked" });
  });

  it("with onlyAllowListed, forwards only documents on the allow-list, by their SHA-256", async () => {
    const { gw, upstream } = await setup({ persistedQueries: { allowList: [sha256(listed)], onlyAllowListed: true } });
    expect((await post(`${gw.url}/graphql`, { query: listed })).status).toBe(200);
    const hashOnly = await post(`${gw.url}/graphql`, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(listed) } } });
    expect(hashOnly.status).toBe(200);
    const other = await post(`${gw.url}/graphql`, { query: "query Other { orders { id } }" });
    expect(other.body).toMatchObject({ status: 400, code: "graphql-not-allow-listed" });
    const unknownHash = await post(`${gw.url}/graphql`, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256("query X { x }") } } });
    expect(unknownHash.body).toMatchObject({ status: 400, code: "graphql-not-allow-listed" });
    const lying = await post(`${gw.url}/graphql`, { query: "query Other { orders { id } }", extensions: { persistedQuery: { version: 1, sha256Hash: sha256(listed) } } });
    expect(lying.body).toMatchObject({ status: 400, detail: "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query" });
    expect(upstream.requests).toHaveLength(2);
  });

  it("lets a WebSocket handshake through on a route with websocket and graphql, and an Upgrade header does not bypass the checks elsewhere", async () => {
    const upstream = await startUpstream();
    cleanups.push(() => upstream.close());
    const wss = new WebSocketServer({ server: upstream.server });
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const gw = await startGateway({
      config: {
        upstreams: { api: { targets: [upstream.origin] } },
        routes: [
          { id: "graph-ws", match: { pathPrefix: "/graphql-ws" }, upstream: "api", websocket: { enabled: true }, graphql: { maxDepth: 2 } },
          { id: "graph", match: { pathPrefix: "/graphql" }, upstream: "api", graphql: { maxDepth: 2 } },
        ],
      },
    });
    cleanups.push(() => gw.close());
    const client = new WebSocket(`ws://127.0.0.1:${gw.port}/graphql-ws`, ["graphql-transport-ws"]);
    await once(client, "open");
    client.close(1000);
    await once(client, "close");
    const deep = encodeURIComponent("{ a { b { c } } }");
    const disguised = await rawExchange(
      gw.port,
      `GET /graphql?query=${deep} HTTP/1.1\r\nHost: gw.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    expect(disguised.statuses).toEqual([400]);
    expect(firstBody(disguised)).toMatchObject({ code: "graphql-limit-exceeded" });
    expect(upstream.requests).toHaveLength(0);
  });

  it("does not count a refused query against the rate limit", async () => {
    const upstream = await startUpstream();
    cleanups.push(() => upstream.close());
    const fixture = new ControlPlaneFixture().plan("one", { rateLimits: [{ name: "per-minute", points: 1, windowSeconds: 60, algorithm: "fixed-window" }] }).consumer("acme");
    const key = fixture.issueKey("cred-1", "acme");
    fixture.subscribe("sub-1", "acme", "one");
    const limited = await startGateway({
      identity: fixture.index,
      config: {
        upstreams: { api: { targets: [upstream.origin] } },
        routes: [{ id: "graph", match: { pathPrefix: "/graphql" }, upstream: "api", auth: [{ type: "api-key" }], graphql: { maxDepth: 2 } }],
      },
    });
    cleanups.push(() => limited.close());
    const headers = { "x-api-key": key };
    expect((await post(`${limited.url}/graphql`, { query: "{ a { b { c } } }" }, headers)).status).toBe(400);
    expect((await post(`${limited.url}/graphql`, { query: "{ a { b } }" }, headers)).status).toBe(200);
    expect((await post(`${limited.url}/graphql`, { query: "{ a { b } }" }, headers)).status).toBe(429);
  });
});
