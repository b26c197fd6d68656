import { hashApiKey } from "@tollgate/credentials";
import type { ControlEvent, ScryptPasswordHash } from "@tollgate/events";
import { describe, expect, it } from "vitest";
import type { BasicUserLookup } from "../policies/basic/basic-verifier.js";
import type { IntrospectionIdentityLookup } from "../policies/introspection/introspection-verifier.js";
import type { JwtIdentityLookup } from "../policies/jwt/jwt-verifier.js";
import { ControlPlaneFixture } from "../test-support/control-plane-fixture.js";
import { IdentityIndex } from "./identity-index.js";

const actor = { kind: "admin", id: "test" } as const;

describe("IdentityIndex", () => {
  it("chains key hash → credential → consumer → subscriptions → plan, and moves its version with every event", () => {
    const fixture = new ControlPlaneFixture().plan("free", { routes: ["orders", "users"], scopes: ["orders:read"] }).consumer("acme");
    const key = fixture.issueKey("cred-1", "acme");
    fixture.subscribe("sub-1", "acme", "free");
    const { index } = fixture;

    const entry = index.apiKeyByHash(hashApiKey(key));
    // Exactly what a request needs, nothing more: one entry is held per key.
    expect(entry).toEqual({ consumerId: "acme", credentialId: "cred-1", scopes: null, expiresAtMs: Number.POSITIVE_INFINITY, revoked: false, superseded: false });
    expect(index.subscriptionsOf("acme")).toEqual([{ subscriptionId: "sub-1", consumerId: "acme", planId: "free", status: "active", billingAnchor: null }]);
    const plan = index.plan("free");
    expect(plan?.allRoutes).toBe(false);
    expect([...(plan?.routes ?? [])]).toEqual(["orders", "users"]);
    expect(plan?.scopes.has("orders:read")).toBe(true);
    expect(index.version).toBe("4");
    expect(index.position).toBe(4n);
  });

  it("keeps a rotated key until its overlap ends, marked as superseded, and records expiry in epoch ms", () => {
    const fixture = new ControlPlaneFixture().consumer("acme");
    const first = fixture.issueKey("cred-1", "acme", { keyId: "k1", expiresAt: "2027-01-01T00:00:00.000Z" });
    const second = fixture.rotateKey("cred-1", "acme", "k1", "k2", "2026-11-26T11:00:00.000Z");
    const { index } = fixture;
    expect(index.apiKeyByHash(hashApiKey(first))).toMatchObject({ superseded: true, expiresAtMs: Date.parse("2026-11-26T11:00:00.000Z") });
    expect(index.apiKeyByHash(hashApiKey(second))).toMatchObject({ superseded: false, expiresAtMs: Number.POSITIVE_INFINITY });
  });

  it("marks every key of a revoked credential as revoked, and keeps them so that refusals can say so", () => {
    const fixture = new ControlPlaneFixture().consumer("acme");
    const first = fixture.issueKey("cred-1", "acme", { keyId: "k1" });
    const second = fixture.rotateKey("cred-1", "acme", "k1", "k2", "2030-01-01T00:00:00.000Z");
    fixture.revokeKey("cred-1", "acme");
    expect(fixture.index.apiKeyByHash(hashApiKey(first))?.revoked).toBe(true);
    expect(fixture.index.apiKeyByHash(hashApiKey(second))?.revoked).toBe(true);
  });

  it("follows subscription status, plan changes and cancellation", () => {
    const fixture = new ControlPlaneFixture().plan("free").plan("gold").consumer("acme").subscribe("sub-1", "acme", "free").subscribe("sub-2", "acme", "gold");
    const { index } = fixture;
    fixture.suspend("sub-1", "acme");
    expect(index.subscriptionsOf("acme").map((s) => [s.subscriptionId, s.status])).toEqual([
      ["sub-1", "suspended"],
      ["sub-2", "active"],
    ]);
    const before = index.subscriptionsOf("acme");
    fixture.changePlan("sub-2", "acme", "gold", "free");
    expect(index.subscriptionsOf("acme")[1]).toMatchObject({ subscriptionId: "sub-2", planId: "free" });
    // The list handed out earlier is never mutated: a request that holds it sees one version.
    expect(before[1]).toMatchObject({ planId: "gold" });
    fixture.cancel("sub-1", "acme");
    expect(index.subscriptionsOf("acme").map((s) => s.subscriptionId)).toEqual(["sub-2"]);
    fixture.cancel("sub-2", "acme");
    expect(index.subscriptionsOf("acme")).toEqual([]);
    expect(index.subscriptionsOf("nobody")).toEqual([]);
  });

  it("removes a cancelled subscription from the middle of its consumer's list, keeping the order of the rest", () => {
    const fixture = new ControlPlaneFixture().plan("free").consumer("acme").subscribe("sub-1", "acme", "free").subscribe("sub-2", "acme", "free").subscribe("sub-3", "acme", "free");
    fixture.cancel("sub-2", "acme");
    expect(fixture.index.subscriptionsOf("acme").map((s) => s.subscriptionId)).toEqual(["sub-1", "sub-3"]);
    expect(fixture.index.stats().subscriptions).toBe(2);
  });

  it("applies plan updates to what the request path reads", () => {
    const fixture = new ControlPlaneFixture().plan("free", { routes: ["orders"] });
    fixture.updatePlan("free", { routes: ["*"], scopes: ["a", "b"] });
    expect(fixture.index.plan("free")).toMatchObject({ planId: "free", allRoutes: true, archived: false });
    expect([...(fixture.index.plan("free")?.scopes ?? [])]).toEqual(["a", "b"]);
  });

  it("indexes JWT identities, Basic users and HMAC secrets while they are live", () => {
    const index = new IdentityIndex();
    const passwordHash = { algorithm: "scrypt", N: 1024, r: 8, p: 1, keyLength: 32, salt: "c2FsdA==", hash: "aGFzaA==" } as const;
    const sealed = { algorithm: "aes-256-gcm", keyId: "k1", iv: "aXY=", ciphertext: "Y3Q=", tag: "dGFn" } as const;
    const events: ControlEvent[] = [
      { type: "JwtIdentityMapped", version: 1, data: { credentialId: "jwt-1", consumerId: "acme", issuer: "https://idp", match: { kind: "subject", subject: "svc-1" }, actor } },
      {
        type: "JwtIdentityMapped",
        version: 1,
        data: { credentialId: "jwt-2", consumerId: "beta", issuer: "https://idp", match: { kind: "claim", claim: "client_id", value: "beta-app" }, actor },
      },
      { type: "BasicUserCreated", version: 1, data: { credentialId: "basic-1", consumerId: "acme", username: "acme", passwordHash, actor } },
      { type: "HmacSecretIssued", version: 1, data: { credentialId: "hmac-1", consumerId: "acme", name: "signing", secret: sealed, actor } },
    ];
    events.forEach((event, at) => index.apply(event, BigInt(at + 1)));
    expect(index.findIdentity("https://idp", "sub", "svc-1")).toEqual({ consumerId: "acme", credentialId: "jwt-1" });
    expect(index.findIdentity("https://idp", "client_id", "beta-app")).toEqual({ consumerId: "beta", credentialId: "jwt-2" });
    expect(index.findIdentity("https://other", "sub", "svc-1")).toBeUndefined();
    expect(index.findBasicUser("acme")).toMatchObject({ credentialId: "basic-1", passwordHash });
    expect(index.hmacSecret("hmac-1")).toMatchObject({ consumerId: "acme", secret: sealed });

    index.apply({ type: "JwtIdentityUnmapped", version: 1, data: { credentialId: "jwt-1", consumerId: "acme", actor } }, 5n);
    index.apply({ type: "BasicUserRemoved", version: 1, data: { credentialId: "basic-1", consumerId: "acme", actor } }, 6n);
    index.apply({ type: "HmacSecretRevoked", version: 1, data: { credentialId: "hmac-1", consumerId: "acme", actor } }, 7n);
    expect(index.findIdentity("https://idp", "sub", "svc-1")).toBeUndefined();
    expect(index.findBasicUser("acme")).toBeUndefined();
    expect(index.hmacSecret("hmac-1")).toBeUndefined();
    expect(index.stats()).toMatchObject({ version: "7", jwtIdentities: 1, basicUsers: 0, hmacSecrets: 0 });
  });

  it("ignores an event at or before its version, so re-delivery after a resubscribe changes nothing", () => {
    const fixture = new ControlPlaneFixture().consumer("acme").plan("free").subscribe("sub-1", "acme", "free");
    const { index } = fixture;
    const suspended: ControlEvent = { type: "SubscriptionSuspended", version: 1, data: { subscriptionId: "sub-1", consumerId: "acme", reason: null, actor } };
    index.apply(suspended, 2n);
    expect(index.subscriptionsOf("acme")[0]?.status).toBe("active");
    expect(index.version).toBe("3");
    index.skip(9n);
    expect(index.version).toBe("9");
    index.apply({ type: "RouteRemoved", version: 1, data: { routeId: "x", actor } }, 10n);
    expect(index.version).toBe("10");
  });

  it("is what the JWT, introspection and Basic verifiers look identities up in, as they are", () => {
    const index = new IdentityIndex();
    const lookups: [JwtIdentityLookup, IntrospectionIdentityLookup, BasicUserLookup<ScryptPasswordHash>] = [index, index, index];
    expect(lookups.every((lookup) => lookup === index)).toBe(true);
  });

  it("hands upstream target overrides to a follower: the latest caught up at once, then each change once, in order", () => {
    const index = new IdentityIndex();
    const targets = [{ url: "http://10.0.0.7:9000", weight: 2 }];
    index.apply({ type: "UpstreamTargetsSet", version: 1, data: { upstream: "orders", targets: [{ url: "http://10.0.0.6:9000", weight: 1 }], actor } }, 1n);
    index.apply({ type: "UpstreamTargetsSet", version: 1, data: { upstream: "orders", targets, actor } }, 2n);
    const seen: [string, unknown][] = [];
    const stop = index.followUpstreamTargets((upstream, set) => seen.push([upstream, set]));
    expect(seen).toEqual([["orders", targets]]);

    index.apply({ type: "UpstreamTargetsReset", version: 1, data: { upstream: "orders", actor } }, 3n);
    index.apply({ type: "UpstreamTargetsReset", version: 1, data: { upstream: "orders", actor } }, 3n);
    expect(seen).toEqual([
      ["orders", targets],
      ["orders", null],
    ]);
    expect(index.version).toBe("3");
    stop();
    index.apply({ type: "UpstreamTargetsSet", version: 1, data: { upstream: "orders", targets, actor } }, 4n);
    expect(seen).toHaveLength(2);
  });
});
