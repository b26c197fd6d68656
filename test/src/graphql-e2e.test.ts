import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnalyticsProjectorProcess, type AnalyticsProjectorProcess } from "./support/analytics-projector-process.js";
import { startControlPlaneProcess, type ControlPlaneProcess } from "./support/control-plane-process.js";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.js";
import { readRequestEvents } from "./support/request-events-file.js";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.js";
import { waitFor } from "./support/wait-for.js";

type Json = Record<string, unknown>;

const adminToken = "e2e-graphql-admin-token-3a2b1c0d9e8f7a6b5c4d";

// A GraphQL-aware route through the real gateway process, with the real control plane
// (analytics query API) and the real analytics projector on the embedded SQLite engine.
describe("GraphQL-aware routes end to end (gateway, control plane and analytics projector processes)", () => {
  let dir: string;
  let upstream: UpstreamServer;
  /** Every body the upstream received. */
  const seen: string[] = [];
  let cp: ControlPlaneProcess;
  let gateway: GatewayProcess;
  let projector: AnalyticsProjectorProcess;
  /** What each operation was sent, and what came back. */
  const sent: { operation: string | null; status: number }[] = [];

  const graphql = async (body: Json): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${gateway.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const answer = { status: response.status, body: (await response.json()) as Json };
    sent.push({ operation: (body.operationName as string | undefined) ?? null, status: answer.status });
    return answer;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-graphql-e2e-"));
    upstream = await startUpstream((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        seen.push(Buffer.concat(chunks).toString("utf8"));
        const body = JSON.stringify({ data: { ok: true } });
        response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        response.end(body);
      });
    });
    const analytics = { sqlite: { file: join(dir, "analytics.db") } };
    const env = { CLICKHOUSE_URL: "" };
    cp = await startControlPlaneProcess({ adminTokens: [{ name: "ops", token: adminToken, access: "write" }], analytics }, env);
    gateway = await startGatewayProcess({
      config: {
        eventStore: { kind: "sqlite", file: cp.eventsFile },
        upstreams: { graph: { targets: [upstream.url] } },
        routes: [{ id: "graph", match: { pathPrefix: "/graphql" }, upstream: "graph", graphql: { maxDepth: 4, maxAliases: 5, blockIntrospection: true } }],
      },
    });
    projector = await startAnalyticsProjectorProcess(dir, { eventStore: { kind: "sqlite", file: cp.eventsFile }, analytics, runner: { maxBatchSize: 200, maxBatchWaitMs: 50 } }, { env });
  });

  afterAll(async () => {
    await projector?.stop();
    await gateway?.cleanup();
    await cp?.cleanup();
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("answers a query over the depth limit with 400 problem+json, and the upstream never sees it", async () => {
    const deep = "query TooDeep { orders { customer { address { country { name } } } } }";
    const response = await fetch(`${gateway.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: deep, operationName: "TooDeep" }) });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({ code: "graphql-limit-exceeded", status: 400, detail: "the query is deeper than 4 levels" });
    sent.push({ operation: "TooDeep", status: 400 });
    const introspection = await graphql({ query: "query IntrospectionQuery { __schema { types { name } } }", operationName: "IntrospectionQuery" });
    expect(introspection.body).toMatchObject({ code: "graphql-introspection-blocked", status: 400 });
    expect(upstream.requests).toBe(0);
    expect(seen).toEqual([]);
  });

  it("forwards queries within the limits and records each operation's name and type in its event", async () => {
    for (let index = 0; index < 6; index += 1) expect((await graphql({ query: "query GetOrder($id: ID!) { order(id: $id) { id total } }", operationName: "GetOrder", variables: { id: String(index) } })).status).toBe(200);
    for (let index = 0; index < 3; index += 1) expect((await graphql({ query: "mutation PlaceOrder { placeOrder { id } }", operationName: "PlaceOrder" })).status).toBe(200);
    expect(upstream.requests).toBe(9);
    expect(JSON.parse(seen[0] ?? "{}")).toEqual({ query: "query GetOrder($id: ID!) { order(id: $id) { id total } }", operationName: "GetOrder", variables: { id: "0" } });
    const events = await waitFor("every request event in the log", () => {
      const logged = readRequestEvents(cp.eventsFile);
      return logged.length === sent.length ? logged : null;
    });
    const operations = events.map((event) => [event.type, (event.data as unknown as Json).graphql]);
    expect(operations).toEqual([
      ["RequestRejected", { operationName: "TooDeep", operationType: "query" }],
      ["RequestRejected", { operationName: "IntrospectionQuery", operationType: "query" }],
      ...Array.from({ length: 6 }, () => ["RequestCompleted", { operationName: "GetOrder", operationType: "query" }]),
      ...Array.from({ length: 3 }, () => ["RequestCompleted", { operationName: "PlaceOrder", operationType: "mutation" }]),
    ]);
  });

  it("shows the operation names in the analytics query API (top by=operation)", async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 120_000).toISOString();
    const top = async (): Promise<{ status: number; body: { by: string; entries: { key: string | null; requests: number; errors: number }[] } }> => {
      const response = await fetch(`${cp.url}/admin/analytics/top?by=operation&from=${from}&to=${to}`, { headers: { authorization: `Bearer ${adminToken}` } });
      return { status: response.status, body: (await response.json()) as { by: string; entries: { key: string | null; requests: number; errors: number }[] } };
    };
    const answer = await waitFor(
      "the projection to hold every GraphQL request",
      async () => {
        const current = await top();
        return current.status === 200 && current.body.entries.reduce((sum, entry) => sum + entry.requests, 0) === sent.length ? current : null;
      },
      20_000,
      50,
    );
    expect(answer.body.by).toBe("operation");
    const byName: Record<string, { requests: number; errors: number }> = {};
    for (const entry of answer.body.entries) byName[String(entry.key)] = { requests: entry.requests, errors: entry.errors };
    expect(byName).toEqual({
      GetOrder: { requests: 6, errors: 0 },
      PlaceOrder: { requests: 3, errors: 0 },
      TooDeep: { requests: 1, errors: 1 },
      IntrospectionQuery: { requests: 1, errors: 1 },
    });
    const invalid = await fetch(`${cp.url}/admin/analytics/top?by=operations`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(invalid.status).toBe(400);
  });
});
