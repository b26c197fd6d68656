import type { CredentialEvent, PlanEvent, SubscriptionEvent } from "@tollgate/events";
import { describe, expect, it } from "vitest";
import { evolveCredential, liveApiKeys, type ApiKeyCredential, type Credential } from "./evolve-credential.js";
import { evolvePlan, type Plan } from "./evolve-plan.js";
import { evolveSubscription, type Subscription } from "./evolve-subscription.js";

const actor = { kind: "admin", id: "ops" } as const;
const hashA = "a".repeat(64);
const hashB = "b".repeat(64);

function fold<State, Event>(evolve: (state: State, event: Event) => State, initial: State, events: Event[]): State {
  return events.reduce(evolve, initial);
}

describe("evolveCredential", () => {
  const issued: CredentialEvent = {
    type: "ApiKeyIssued",
    version: 1,
    data: { credentialId: "c1", consumerId: "acme", keyId: "k1", name: "ci", prefix: "tg_AAAAAAAA", hash: hashA, expiresAt: null, actor },
  };
  const rotated: CredentialEvent = {
    type: "ApiKeyRotated",
    version: 1,
    data: {
      credentialId: "c1",
      consumerId: "acme",
      keyId: "k2",
      prefix: "tg_BBBBBBBB",
      hash: hashB,
      expiresAt: null,
      previousKeyId: "k1",
      previousKeyExpiresAt: "2026-11-26T11:00:00.000Z",
      actor,
    },
  };

  it("keeps the previous key through the rotation overlap, and only until its end", () => {
    const state = fold<Credential | null, CredentialEvent>(evolveCredential, null, [issued, rotated]) as ApiKeyCredential;
    expect(state.keys.map((key) => [key.keyId, key.expiresAt])).toEqual([
      ["k1", "2026-11-26T11:00:00.000Z"],
      ["k2", null],
    ]);
    expect(liveApiKeys(state, new Date("2026-11-26T10:59:59Z")).map((key) => key.keyId)).toEqual(["k1", "k2"]);
    expect(liveApiKeys(state, new Date("2026-11-26T11:00:00Z")).map((key) => key.keyId)).toEqual(["k2"]);
  });

  it("revokes every key of the credential at once", () => {
    const revoked: CredentialEvent = { type: "ApiKeyRevoked", version: 1, data: { credentialId: "c1", consumerId: "acme", reason: null, actor } };
    const state = fold<Credential | null, CredentialEvent>(evolveCredential, null, [issued, rotated, revoked]) as ApiKeyCredential;
    expect(state.status).toBe("revoked");
    expect(liveApiKeys(state, new Date(0))).toEqual([]);
  });

  it("ignores events for a credential that was never issued", () => {
    expect(evolveCredential(null, rotated)).toBeNull();
  });
});

describe("evolveSubscription", () => {
  const started: SubscriptionEvent = { type: "SubscriptionStarted", version: 1, data: { subscriptionId: "s1", consumerId: "acme", planId: "free", actor } };

  it("follows status and plan changes", () => {
    const events: SubscriptionEvent[] = [
      started,
      { type: "SubscriptionSuspended", version: 1, data: { subscriptionId: "s1", consumerId: "acme", reason: "unpaid", actor } },
      { type: "SubscriptionPlanChanged", version: 1, data: { subscriptionId: "s1", consumerId: "acme", fromPlanId: "free", toPlanId: "gold", actor } },
    ];
    expect(fold<Subscription | null, SubscriptionEvent>(evolveSubscription, null, events)).toEqual({
      subscriptionId: "s1",
      consumerId: "acme",
      planId: "gold",
      status: "suspended",
      billingAnchor: null,
    });
    const reactivated = evolveSubscription(fold<Subscription | null, SubscriptionEvent>(evolveSubscription, null, events), {
      type: "SubscriptionReactivated",
      version: 1,
      data: { subscriptionId: "s1", consumerId: "acme", actor },
    });
    expect(reactivated?.status).toBe("active");
  });

  it("keeps the billing anchor as epoch ms, through plan changes", () => {
    const anchored: SubscriptionEvent = {
      type: "SubscriptionStarted",
      version: 1,
      data: { subscriptionId: "s1", consumerId: "acme", planId: "free", billingAnchor: "2026-01-31T12:00:00.000Z", actor },
    };
    const changed = evolveSubscription(evolveSubscription(null, anchored), {
      type: "SubscriptionPlanChanged",
      version: 1,
      data: { subscriptionId: "s1", consumerId: "acme", fromPlanId: "free", toPlanId: "gold", actor },
    });
    expect(changed?.billingAnchor).toBe(Date.UTC(2026, 0, 31, 12));
  });
});

describe("evolvePlan", () => {
  it("applies only the changed fields of an update", () => {
    const created: PlanEvent = {
      type: "PlanCreated",
      version: 1,
      data: {
        planId: "free",
        name: "Free",
        description: "",
        public: true,
        rateLimits: [],
        quota: null,
        routes: ["orders"],
        scopes: ["orders:read"],
        price: { stripePriceId: null, stripeMeterEventName: null },
        actor,
      },
    };
    const updated: PlanEvent = { type: "PlanUpdated", version: 1, data: { planId: "free", changes: { routes: ["*"] }, actor } };
    const plan = fold<Plan | null, PlanEvent>(evolvePlan, null, [created, updated]);
    expect(plan).toMatchObject({ planId: "free", routes: ["*"], scopes: ["orders:read"], archived: false });
    expect(plan).not.toHaveProperty("actor");
  });
});
