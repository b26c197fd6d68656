import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestEvents, startAuthStack, type AuthStack } from "./support/auth-e2e-stack.js";

describe("IP allow/deny lists (global and per route, IPv4 and IPv6) and header rules at the gateway (real processes)", () => {
  let stack: AuthStack;
  let v4 = "";
  let v6 = "";
  let sent = 0;

  const call = async (origin: string, path: string, headers: Record<string, string> = {}) => {
    sent += 1;
    const response = await fetch(`${origin}${path}`, { headers });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: response.headers.get("content-type") === "application/problem+json" ? (JSON.parse(text) as Record<string, unknown>) : text };
  };

  beforeAll(async () => {
    stack = await startAuthStack({
      gatewayConfig: (upstreamUrl) => ({
        // Dual stack: 127.0.0.1 arrives as ::ffff:127.0.0.1 and is compared as IPv4.
        listen: { host: "::", port: 0 },
        // Only the IPv6 loopback is a proxy whose X-Forwarded-For counts.
        trustProxy: ["::1/128"],
        ipFilter: { deny: ["198.51.100.0/24"] },
        upstreams: { api: { targets: [upstreamUrl] } },
        routes: [
          { id: "v4-allow", match: { pathPrefix: "/v4-allow" }, upstream: "api", ipFilter: { allow: ["127.0.0.0/8"] } },
          { id: "v6-allow", match: { pathPrefix: "/v6-allow" }, upstream: "api", ipFilter: { allow: ["::/64"] } },
          { id: "v4-deny", match: { pathPrefix: "/v4-deny" }, upstream: "api", ipFilter: { deny: ["127.0.0.0/24"] } },
          { id: "v6-deny", match: { pathPrefix: "/v6-deny" }, upstream: "api", ipFilter: { deny: ["::/96"] } },
          { id: "open", match: { pathPrefix: "/open" }, upstream: "api" },
          {
            id: "tenants",
            match: { pathPrefix: "/tenants" },
            upstream: "api",
            headerRules: { required: [{ name: "X-Tenant", pattern: "[a-z]{3,16}" }], forbidden: ["x-debug"] },
          },
        ],
      }),
    });
    v4 = stack.gateway.url;
    v6 = `http://[::1]:${stack.gateway.port}`;
  });

  afterAll(async () => {
    await stack?.cleanup();
  });

  it("applies IPv4 and IPv6 CIDR allow and deny lists to the socket's peer", async () => {
    const outcomes = [];
    for (const path of ["/v4-allow", "/v6-allow", "/v4-deny", "/v6-deny", "/open"]) {
      outcomes.push([path, (await call(v4, path)).status, (await call(v6, path)).status]);
    }
    expect(outcomes).toEqual([
      ["/v4-allow", 200, 403],
      ["/v6-allow", 403, 200],
      ["/v4-deny", 403, 200],
      ["/v6-deny", 200, 403],
      ["/open", 200, 200],
    ]);
    const refused = await call(v4, "/v4-deny");
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.body).toMatchObject({ code: "address-not-allowed", status: 403, detail: "client address is on a deny list" });
    expect(refused.headers.get("www-authenticate")).toBeNull();
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy, so a spoofed address bypasses no deny list", async () => {
    const upstreamBefore = stack.upstream.requests;
    expect((await call(v4, "/v4-deny", { "x-forwarded-for": "203.0.113.7" })).status).toBe(403);
    expect((await call(v4, "/v6-allow", { "x-forwarded-for": "::1" })).status).toBe(403);
    // Nor does it get anyone on the global deny list refused: the address is simply not believed.
    expect((await call(v4, "/open", { "x-forwarded-for": "198.51.100.7" })).status).toBe(200);
    expect(stack.upstream.requests).toBe(upstreamBefore + 1);
  });

  it("believes a trusted proxy's X-Forwarded-For, for the global and the route's lists alike", async () => {
    expect((await call(v6, "/v4-deny", { "x-forwarded-for": "203.0.113.7" })).status).toBe(200);
    expect((await call(v6, "/v4-deny", { "x-forwarded-for": "127.0.0.9" })).status).toBe(403);
    expect((await call(v6, "/v6-allow", { "x-forwarded-for": "203.0.113.7" })).status).toBe(403);
    const global = await call(v6, "/open", { "x-forwarded-for": "198.51.100.7" });
    expect(global.status).toBe(403);
    expect(global.body).toMatchObject({ code: "address-not-allowed", detail: "client address is on a deny list" });
  });

  it("refuses a missing or malformed required header and a forbidden one with 400, naming the header and never its value", async () => {
    expect((await call(v4, "/tenants/1", { "x-tenant": "acme" })).status).toBe(200);
    const cases: [Record<string, string>, string][] = [
      [{}, "header x-tenant is required"],
      [{ "x-tenant": "ACME-secret-value" }, "header x-tenant has a value that is not allowed"],
      [{ "x-tenant": "acme", "x-debug": "1" }, "header x-debug is not allowed"],
    ];
    for (const [headers, reason] of cases) {
      const refused = await call(v4, "/tenants/1", headers);
      expect(refused.status, reason).toBe(400);
      expect(refused.body, reason).toMatchObject({ code: "invalid-header", detail: reason });
    }
  });

  it("records each refusal as RequestRejected with stage ip or headers, the reason and the client address it judged", async () => {
    const events = await requestEvents(stack.eventsFile, sent);
    expect(events).toHaveLength(sent);
    const rejected = events.filter((event) => event.type === "RequestRejected").map((event) => [event.data.stage, event.data.reason, event.data.clientIp]);
    expect(rejected).toEqual(
      expect.arrayContaining([
        ["ip", "client address is not on the allow list", "::1"],
        ["ip", "client address is not on the allow list", "127.0.0.1"],
        ["ip", "client address is on a deny list", "127.0.0.1"],
        ["ip", "client address is on a deny list", "::1"],
        ["ip", "client address is on a deny list", "127.0.0.9"],
        ["ip", "client address is on a deny list", "198.51.100.7"],
        ["ip", "client address is not on the allow list", "203.0.113.7"],
        ["headers", "header x-tenant is required", "127.0.0.1"],
        ["headers", "header x-tenant has a value that is not allowed", "127.0.0.1"],
        ["headers", "header x-debug is not allowed", "127.0.0.1"],
      ]),
    );
    const { exitCodes, found } = await stack.stopAndFindSecrets(["ACME-secret-value"]);
    expect(exitCodes).toEqual([0, 0]);
    expect(found).toEqual([]);
  });
});
