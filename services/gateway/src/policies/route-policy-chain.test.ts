import { parseConfig } from "@tollgate/config";
import { describe, expect, it } from "vitest";
import { GatewayConfig, type RouteConfig } from "../config/gateway-config.js";
import { problems } from "../errors/problem-catalog.js";
import { ControlPlaneFixture } from "../test-support/control-plane-fixture.js";
import { fakePolicyExchange } from "../test-support/fake-policy-exchange.js";
import { PolicyRejection, type PolicyExchange, type PolicyStep } from "./policy-step.js";
import { chainOf, compileRoutePolicyChain } from "./route-policy-chain.js";

function route(extra: Record<string, unknown>): RouteConfig {
  const config = parseConfig(GatewayConfig, {
    upstreams: { u: { targets: ["http://127.0.0.1:1"] } },
    routes: [{ id: "orders", match: { pathPrefix: "/orders" }, upstream: "u", ...extra }],
  });
  return config.routes[0] as RouteConfig;
}

const stop = new PolicyRejection("ip", problems.forbidden, "stopped");

function step(name: string, trace: string[], verdict: PolicyRejection | null = null): PolicyStep {
  return { async: false, run: () => (trace.push(name), verdict) };
}

describe("route policy chain", () => {
  it("is null for a route without policies: the request goes straight upstream", () => {
    expect(compileRoutePolicyChain(route({}), null)).toBeNull();
  });

  it("refuses to compile a route with auth when the gateway has no identity index", () => {
    expect(() => compileRoutePolicyChain(route({ auth: [{ type: "api-key" }] }), null)).toThrow(/no identity index/);
  });

  it("runs authentication, then authorization, synchronously, for an API key route", () => {
    const fixture = new ControlPlaneFixture().plan("free", { routes: ["orders"] }).consumer("acme");
    const key = fixture.issueKey("cred-1", "acme");
    fixture.subscribe("sub-1", "acme", "free");
    const chain = compileRoutePolicyChain(route({ auth: [{ type: "api-key" }] }), { identity: fixture.index });
    if (chain === null || chain.async) throw new Error("expected a synchronous chain");
    const exchange = fakePolicyExchange({ headers: ["x-api-key", key] });
    expect(chain.run(exchange)).toBeNull();
    expect(exchange).toMatchObject({ consumerId: "acme", credentialId: "cred-1", subscriptionId: "sub-1", planId: "free", controlPlaneVersion: "4" });

    fixture.suspend("sub-1", "acme");
    expect(chain.run(fakePolicyExchange({ headers: ["x-api-key", key] }))).toMatchObject({ stage: "authz", problem: { status: 403 } });
    expect(chain.run(fakePolicyExchange())).toMatchObject({ stage: "auth", problem: { status: 401 } });
  });

  it("stops at the first step that refuses, in order", async () => {
    const trace: string[] = [];
    const sync = chainOf([step("ip", trace), step("auth", trace, stop), step("authz", trace)]);
    expect(sync.async).toBe(false);
    expect(await sync.run(fakePolicyExchange())).toBe(stop);
    expect(trace).toEqual(["ip", "auth"]);
  });

  it("awaits only when a step is asynchronous", async () => {
    const trace: string[] = [];
    const waiting: PolicyStep = {
      async: true,
      run: async (exchange: PolicyExchange) => {
        await Promise.resolve();
        trace.push("jwt");
        exchange.consumerId = "acme";
        return null;
      },
    };
    const chain = chainOf([waiting, step("authz", trace)]);
    expect(chain.async).toBe(true);
    const exchange = fakePolicyExchange();
    await expect(chain.run(exchange)).resolves.toBeNull();
    expect(trace).toEqual(["jwt", "authz"]);
    expect(exchange.consumerId).toBe("acme");
  });
});
