import type { IncomingMessage } from "node:http";
import { parseConfig } from "@tollgate/config";
import { describe, expect, it } from "vitest";
import { GatewayConfig, type RouteConfig } from "../config/gateway-config.js";
import { ControlPlaneFixture } from "../test-support/control-plane-fixture.js";
import { fakePolicyExchange } from "../test-support/fake-policy-exchange.js";
import { IpFilterConfig } from "./ip-filter/ip-filter-config.js";
import { compileIpFilter } from "./ip-filter/ip-filter.js";
import type { PolicyExchange } from "./policy-step.js";
import { compileRoutePolicyChain, type RoutePolicyChain } from "./route-policy-chain.js";

function route(extra: Record<string, unknown>): RouteConfig {
  const config = parseConfig(GatewayConfig, {
    secretKeys: { keys: { k1: Buffer.alloc(32, 1).toString("base64") } },
    upstreams: { u: { targets: ["http://127.0.0.1:1"] } },
    routes: [{ id: "orders", match: { pathPrefix: "/orders" }, upstream: "u", ...extra }],
  });
  return config.routes[0] as RouteConfig;
}

function exchange(options: { clientIp?: string; headers?: Record<string, string> } = {}): PolicyExchange {
  const headers = options.headers ?? {};
  return {
    ...fakePolicyExchange({ headers: Object.entries(headers).flat() }),
    clientIp: options.clientIp ?? "127.0.0.1",
    req: { headers } as unknown as IncomingMessage,
  };
}

async function run(chain: RoutePolicyChain | null, request: PolicyExchange) {
  if (chain === null) throw new Error("expected a chain");
  return chain.run(request);
}

describe("route policy chain: request policies before authentication", () => {
  const fixture = new ControlPlaneFixture().plan("free", { routes: ["orders"] }).consumer("acme");
  const key = fixture.issueKey("cred-1", "acme");
  fixture.subscribe("sub-1", "acme", "free");

  it("refuses a denied address before any credential is looked at, with stage ip and a 403", async () => {
    const chain = compileRoutePolicyChain(route({ ipFilter: { deny: ["10.0.0.0/8"] }, auth: [{ type: "api-key" }] }), { identity: fixture.index });
    const denied = exchange({ clientIp: "10.1.2.3", headers: { "x-api-key": key } });
    expect(await run(chain, denied)).toMatchObject({ stage: "ip", problem: { status: 403, code: "address-not-allowed" }, reason: "client address is on a deny list" });
    expect(denied.consumerId).toBeNull();
    expect(await run(chain, exchange({ headers: { "x-api-key": key } }))).toBeNull();
  });

  it("checks header rules after the address and before authentication, with stage headers and a 400", async () => {
    const chain = compileRoutePolicyChain(route({ headerRules: { forbidden: ["x-debug"] }, auth: [{ type: "api-key" }] }), { identity: fixture.index });
    expect(await run(chain, exchange({ headers: { "x-debug": "1" } }))).toMatchObject({
      stage: "headers",
      problem: { status: 400, code: "invalid-header" },
      reason: "header x-debug is not allowed",
    });
  });

  it("applies the global lists to open routes too, composed with the route's", async () => {
    const globalIpFilter = compileIpFilter(IpFilterConfig.parse({ deny: ["192.0.2.0/24"] }));
    const open = compileRoutePolicyChain(route({}), null, null, { globalIpFilter });
    expect(await run(open, exchange({ clientIp: "192.0.2.7" }))).toMatchObject({ stage: "ip", reason: "client address is on a deny list" });
    expect(await run(open, exchange({ clientIp: "198.51.100.1" }))).toBeNull();
    const narrowed = compileRoutePolicyChain(route({ ipFilter: { allow: ["2001:db8::/32"] } }), null, null, { globalIpFilter });
    expect(await run(narrowed, exchange({ clientIp: "2001:db8::1" }))).toBeNull();
    expect(await run(narrowed, exchange({ clientIp: "198.51.100.1" }))).toMatchObject({ reason: "client address is not on the allow list" });
    expect(compileRoutePolicyChain(route({}), null, null, {})).toBeNull();
  });

  it("builds every authenticator type from its config entry; token and password checks make the chain asynchronous", () => {
    const issuers = [{ issuer: "https://idp.test/", jwksUrl: "https://idp.test/jwks", audiences: ["orders"] }];
    expect(compileRoutePolicyChain(route({ auth: [{ type: "api-key" }] }), { identity: fixture.index })?.async).toBe(false);
    expect(compileRoutePolicyChain(route({ auth: [{ type: "jwt", issuers }] }), { identity: fixture.index })?.async).toBe(true);
    expect(compileRoutePolicyChain(route({ auth: [{ type: "basic" }] }), { identity: fixture.index })?.async).toBe(true);
    const closers: (() => Promise<void>)[] = [];
    const introspection = { type: "introspection", endpoint: "https://as.test/introspect", issuer: "as", clientId: "gw", clientSecret: "s" };
    expect(compileRoutePolicyChain(route({ auth: [introspection] }), { identity: fixture.index, onClose: (close) => closers.push(close) })?.async).toBe(true);
    expect(closers).toHaveLength(1);
    void closers[0]?.();
    expect(() => compileRoutePolicyChain(route({ auth: [{ type: "hmac" }] }), { identity: fixture.index })).toThrow(/needs secretKeys/);
    expect(compileRoutePolicyChain(route({ auth: [{ type: "hmac" }] }), { identity: fixture.index, hmacKeys: { findHmacKey: () => undefined } })?.async).toBe(true);
  });
});
