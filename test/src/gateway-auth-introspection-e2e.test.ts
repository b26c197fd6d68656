import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestEvents, startAuthStack, subscribedConsumer, type AuthStack } from "./support/auth-e2e-stack.js";
import { waitFor } from "./support/wait-for.js";

const issuer = "https://as.example.test";
const clientId = "tollgate-gateway";
const clientSecret = `gw-secret-${randomBytes(16).toString("hex")}`;

describe("OAuth 2.0 token introspection at the gateway, against a local authorization server (real processes)", () => {
  let authorizationServer: Server;
  let stack: AuthStack;
  /** What the authorization server says about each token it issued; undefined: it never issued it. */
  const issued = new Map<string, () => Record<string, unknown>>();
  const calls = new Map<string, number>();
  let badClientCalls = 0;
  let sent = 0;
  const token = (): string => `opaque-${randomBytes(18).toString("base64url")}`;

  const call = async (bearer: string) => {
    sent += 1;
    const response = await fetch(`${stack.gateway.url}/orders/1`, { headers: { authorization: `Bearer ${bearer}` } });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: response.headers.get("content-type") === "application/problem+json" ? (JSON.parse(text) as Record<string, unknown>) : text };
  };

  beforeAll(async () => {
    authorizationServer = createServer((request, response) => {
      let form = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (form += chunk));
      request.on("end", () => {
        const expected = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`;
        if (request.headers.authorization !== expected) {
          badClientCalls += 1;
          response.writeHead(401).end();
          return;
        }
        const presented = new URLSearchParams(form).get("token") ?? "";
        calls.set(presented, (calls.get(presented) ?? 0) + 1);
        const body = JSON.stringify(issued.get(presented)?.() ?? { active: false });
        response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        response.end(body);
      });
    });
    authorizationServer.listen(0, "127.0.0.1");
    await once(authorizationServer, "listening");
    const endpoint = `http://127.0.0.1:${(authorizationServer.address() as AddressInfo).port}/oauth2/introspect`;
    stack = await startAuthStack({
      gatewayConfig: (upstreamUrl) => ({
        upstreams: { api: { targets: [upstreamUrl] } },
        routes: [
          {
            id: "orders",
            match: { pathPrefix: "/orders" },
            upstream: "api",
            auth: [{ type: "introspection", endpoint, issuer, clientId, clientSecret, cacheTtlMs: 60_000 }],
          },
        ],
      }),
    });
    await subscribedConsumer(stack, "acme", ["orders"]);
    const mapped = await stack.admin("POST", "/admin/consumers/acme/jwt-identities", { id: "acme-app", issuer, match: { kind: "claim", claim: "client_id", value: "acme-app" } });
    expect(mapped.status).toBe(201);
  });

  afterAll(async () => {
    await stack?.cleanup();
    authorizationServer?.closeAllConnections();
    authorizationServer?.close();
  });

  it("admits an active token mapped to a consumer, and refuses an inactive one with 401 and a challenge", async () => {
    const active = token();
    issued.set(active, () => ({ active: true, client_id: "acme-app", scope: "orders:read", exp: Math.floor(Date.now() / 1000) + 3_600 }));
    await waitFor("the client_id mapping to reach the gateway", async () => (await call(active)).status === 200, 5_000, 10);
    const before = stack.seen.length;
    expect((await call(active)).status).toBe(200);
    expect(stack.seen[before]?.headers).toMatchObject({ "x-consumer-id": "acme" });
    expect(stack.seen[before]?.headers.authorization).toBeUndefined();

    const inactive = token();
    issued.set(inactive, () => ({ active: false }));
    const refused = await call(inactive);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="tollgate", error="invalid_token"');
    expect(refused.body).toMatchObject({ code: "unauthorized", detail: "token is not active" });
    // Inactive answers are never cached: the next request asks again.
    expect((await call(inactive)).status).toBe(401);
    expect(calls.get(inactive)).toBe(2);
    expect(badClientCalls).toBe(0);
  });

  it("reuses a cached result only until the token's exp, then asks the server again", async () => {
    const shortLived = token();
    const exp = Math.floor(Date.now() / 1000) + 3;
    issued.set(shortLived, () => ({ active: Date.now() < exp * 1000, client_id: "acme-app", exp }));

    expect((await call(shortLived)).status).toBe(200);
    expect((await call(shortLived)).status).toBe(200);
    expect(calls.get(shortLived)).toBe(1);

    // cacheTtlMs is 60 s: only the token's exp can end the cache entry this soon.
    await waitFor("the token to expire", () => Date.now() >= exp * 1000 + 50, 5_000, 50);
    const afterExpiry = await call(shortLived);
    expect(afterExpiry.status).toBe(401);
    expect(afterExpiry.body).toMatchObject({ detail: "token is not active" });
    expect(calls.get(shortLived)).toBe(2);
  });

  it("records the refusals with stage and reason, and leaves no token or client secret in the log or the output", async () => {
    const events = await requestEvents(stack.eventsFile, sent);
    expect(events).toHaveLength(sent);
    const rejected = events.filter((event) => event.type === "RequestRejected");
    expect(rejected.length).toBeGreaterThanOrEqual(3);
    expect(new Set(rejected.filter((event) => event.data.reason !== "token identity is not mapped to a consumer").map((event) => `${String(event.data.stage)}: ${String(event.data.reason)}`))).toEqual(
      new Set(["auth: token is not active"]),
    );
    const { exitCodes, found } = await stack.stopAndFindSecrets([...issued.keys(), clientSecret]);
    expect(exitCodes).toEqual([0, 0]);
    expect(found.map((secret) => `${secret.slice(0, 10)}…`)).toEqual([]);
  });
});
