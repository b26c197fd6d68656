import { describe, expect, it } from "vitest";
import { ControlPlaneFixture } from "../../test-support/control-plane-fixture.js";
import { fakePolicyExchange } from "../../test-support/fake-policy-exchange.js";
import type { AuthenticatedIdentity } from "../authenticator.js";
import type { PolicyExchange, PolicyRejection, PolicyStep } from "../policy-step.js";
import { AuthorizationPolicyConfig, type AuthorizationPolicyConfigInput } from "./authorization-policy-config.js";
import { createAuthorizationStep } from "./authorization-step.js";

const acme: AuthenticatedIdentity = { consumerId: "acme", credentialId: "cred-1", scopes: null };

function authorize(
  fixture: ControlPlaneFixture,
  config: AuthorizationPolicyConfigInput = {},
  identity: AuthenticatedIdentity = acme,
  routeId = "orders",
): { rejection: PolicyRejection | null; exchange: PolicyExchange } {
  const step: PolicyStep = createAuthorizationStep(routeId, AuthorizationPolicyConfig.parse(config), fixture.index);
  if (step.async) throw new Error("authorization is synchronous");
  const exchange = fakePolicyExchange();
  exchange.identity = identity;
  return { rejection: step.run(exchange), exchange };
}

describe("authorization", () => {
  it("admits an active subscription whose plan includes the route, and records it with the index version", () => {
    const fixture = new ControlPlaneFixture().plan("free", { routes: ["orders"] }).consumer("acme").subscribe("sub-1", "acme", "free");
    const { rejection, exchange } = authorize(fixture);
    expect(rejection).toBeNull();
    expect(exchange).toMatchObject({ subscriptionId: "sub-1", planId: "free", controlPlaneVersion: "3" });
  });

  it("admits any route on a plan that lists \"*\"", () => {
    const fixture = new ControlPlaneFixture().plan("all", { routes: ["*"] }).consumer("acme").subscribe("sub-1", "acme", "all");
    expect(authorize(fixture, {}, acme, "anything").rejection).toBeNull();
  });

  it("refuses a suspended or cancelled subscription with 403, stage authz", () => {
    const fixture = new ControlPlaneFixture().plan("free").consumer("acme").subscribe("sub-1", "acme", "free").suspend("sub-1", "acme");
    const suspended = authorize(fixture);
    expect(suspended.rejection).toMatchObject({ stage: "authz", problem: { status: 403, code: "forbidden" }, reason: 'subscription "sub-1" is suspended' });
    expect(suspended.exchange).toMatchObject({ subscriptionId: "sub-1", planId: "free" });
    fixture.reactivate("sub-1", "acme");
    expect(authorize(fixture).rejection).toBeNull();
    fixture.cancel("sub-1", "acme");
    expect(authorize(fixture).rejection).toMatchObject({ problem: { status: 403 }, reason: 'no active subscription includes route "orders"' });
  });

  it("refuses a plan that does not include the route", () => {
    const fixture = new ControlPlaneFixture().plan("free", { routes: ["users"] }).consumer("acme").subscribe("sub-1", "acme", "free");
    expect(authorize(fixture).rejection).toMatchObject({ reason: 'plan "free" does not include route "orders"' });
  });

  it("refuses a consumer without any subscription", () => {
    const fixture = new ControlPlaneFixture().consumer("acme");
    expect(authorize(fixture).rejection).toMatchObject({ reason: 'no active subscription includes route "orders"' });
  });

  it("picks the subscription that covers the route when a consumer has several", () => {
    const fixture = new ControlPlaneFixture()
      .plan("users-only", { routes: ["users"] })
      .plan("orders", { routes: ["orders"], scopes: ["orders:read"] })
      .consumer("acme")
      .subscribe("sub-1", "acme", "users-only")
      .subscribe("sub-2", "acme", "orders");
    const { rejection, exchange } = authorize(fixture, { scopes: ["orders:read"] });
    expect(rejection).toBeNull();
    expect(exchange).toMatchObject({ subscriptionId: "sub-2", planId: "orders" });
  });

  it("requires every configured scope from the plan, and from the credential when it carries scopes", () => {
    const fixture = new ControlPlaneFixture().plan("free", { scopes: ["orders:read"] }).consumer("acme").subscribe("sub-1", "acme", "free");
    expect(authorize(fixture, { scopes: ["orders:read"] }).rejection).toBeNull();
    expect(authorize(fixture, { scopes: ["orders:read", "orders:write"] }).rejection).toMatchObject({
      reason: 'the request lacks a required scope (orders:read orders:write) (plan "free")',
    });
    const token = { consumerId: "acme", credentialId: "jwt-1", scopes: ["profile"] };
    expect(authorize(fixture, { scopes: ["orders:read"] }, token).rejection).toMatchObject({ problem: { status: 403 } });
    expect(authorize(fixture, { scopes: ["orders:read"] }, { ...token, scopes: ["orders:read"] }).rejection).toBeNull();
  });

  it("without requireSubscription admits any authenticated consumer, and still records a covering subscription", () => {
    const bare = new ControlPlaneFixture().consumer("acme");
    const open = authorize(bare, { requireSubscription: false });
    expect(open.rejection).toBeNull();
    expect(open.exchange.subscriptionId).toBeNull();
    const subscribed = new ControlPlaneFixture().plan("free").consumer("acme").subscribe("sub-1", "acme", "free");
    expect(authorize(subscribed, { requireSubscription: false }).exchange).toMatchObject({ subscriptionId: "sub-1", planId: "free" });
    expect(authorize(bare, { requireSubscription: false, scopes: ["admin"] }).rejection).toMatchObject({ problem: { status: 403 } });
  });

  it("follows a plan change of the subscription", () => {
    const fixture = new ControlPlaneFixture()
      .plan("free", { routes: ["users"] })
      .plan("gold", { routes: ["orders"] })
      .consumer("acme")
      .subscribe("sub-1", "acme", "free");
    expect(authorize(fixture).rejection).not.toBeNull();
    fixture.changePlan("sub-1", "acme", "free", "gold");
    expect(authorize(fixture).exchange).toMatchObject({ planId: "gold" });
  });
});
