import { evolveSubscription, type Plan, type Subscription } from "@tollgate/credentials";
import type { SubscriptionEvent } from "@tollgate/events";
import { describe, expect, it } from "vitest";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import type { Consumer } from "../consumer/evolve-consumer.js";
import type { DecisionContext } from "../decider.js";
import { decideSubscription, type SubscriptionCommand } from "./decide-subscription.js";

const context: DecisionContext = { actor: { kind: "consumer", id: "acme" }, now: new Date("2026-11-26T10:00:00Z") };
const acme: Consumer = { consumerId: "acme", name: "Acme", email: null, labels: {} };
const plan = (planId: string, archived = false): Plan => ({
  planId,
  name: planId,
  description: "",
  public: true,
  rateLimits: [],
  quota: null,
  routes: ["*"],
  scopes: [],
  price: { stripePriceId: null, stripeMeterEventName: null },
  archived,
});
const start: SubscriptionCommand = {
  type: "StartSubscription",
  subscriptionId: "sub-1",
  consumerId: "acme",
  planId: "free",
  billingAnchor: null,
  consumer: acme,
  plan: plan("free"),
  consumerSubscriptions: [],
};

const fold = (events: SubscriptionEvent[], state: Subscription | null = null) => events.reduce(evolveSubscription, state);
const step = (state: Subscription | null, command: SubscriptionCommand) => fold(decideSubscription(command, state, context), state);

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof ControlPlaneError) return error.problem.code;
    throw error;
  }
  throw new Error("expected a ControlPlaneError");
}

describe("subscriptions (happy)", () => {
  it("starts active, and walks suspend → reactivate → change plan → cancel with exact events", () => {
    expect(decideSubscription(start, null, context)).toEqual([
      { type: "SubscriptionStarted", version: 1, data: { subscriptionId: "sub-1", consumerId: "acme", planId: "free", actor: context.actor } },
    ]);
    let state = step(null, start);
    expect(state).toEqual({ subscriptionId: "sub-1", consumerId: "acme", planId: "free", status: "active", billingAnchor: null });
    const anchored = decideSubscription({ ...start, billingAnchor: "2026-03-31T00:00:00.000Z" }, null, context);
    expect(anchored[0]?.data).toMatchObject({ billingAnchor: "2026-03-31T00:00:00.000Z" });
    expect(step(null, { ...start, billingAnchor: "2026-03-31T00:00:00.000Z" })?.billingAnchor).toBe(Date.UTC(2026, 2, 31));
    state = step(state, { type: "SuspendSubscription", subscriptionId: "sub-1", reason: "unpaid" });
    expect(state?.status).toBe("suspended");
    expect(decideSubscription({ type: "SuspendSubscription", subscriptionId: "sub-1", reason: null }, state, context)).toEqual([]);
    state = step(state, { type: "ReactivateSubscription", subscriptionId: "sub-1" });
    expect(state?.status).toBe("active");
    expect(decideSubscription({ type: "ChangeSubscriptionPlan", subscriptionId: "sub-1", planId: "gold", plan: plan("gold") }, state, context)).toEqual([
      {
        type: "SubscriptionPlanChanged",
        version: 1,
        data: { subscriptionId: "sub-1", consumerId: "acme", fromPlanId: "free", toPlanId: "gold", actor: context.actor },
      },
    ]);
    state = step(state, { type: "ChangeSubscriptionPlan", subscriptionId: "sub-1", planId: "gold", plan: plan("gold") });
    state = step(state, { type: "CancelSubscription", subscriptionId: "sub-1", reason: null });
    expect(state).toEqual({ subscriptionId: "sub-1", consumerId: "acme", planId: "gold", status: "cancelled", billingAnchor: null });
  });

  it("allows a new subscription to a plan whose previous subscription was cancelled", () => {
    const cancelled: Subscription = { subscriptionId: "old", consumerId: "acme", planId: "free", status: "cancelled", billingAnchor: null };
    expect(decideSubscription({ ...start, consumerSubscriptions: [cancelled] }, null, context)).toHaveLength(1);
  });
});

describe("subscriptions (error)", () => {
  it("refuses a missing consumer, a missing plan and an archived plan", () => {
    expect(codeOf(() => decideSubscription({ ...start, consumer: null }, null, context))).toBe("invalid-reference");
    expect(codeOf(() => decideSubscription({ ...start, plan: null }, null, context))).toBe("invalid-reference");
    expect(codeOf(() => decideSubscription({ ...start, plan: plan("free", true) }, null, context))).toBe("invalid-reference");
  });

  it("refuses a second live subscription of the same consumer to the same plan", () => {
    const live: Subscription = { subscriptionId: "other", consumerId: "acme", planId: "free", status: "suspended", billingAnchor: null };
    expect(codeOf(() => decideSubscription({ ...start, consumerSubscriptions: [live] }, null, context))).toBe("already-exists");
  });

  it("treats cancellation as final", () => {
    const cancelled = step(step(null, start), { type: "CancelSubscription", subscriptionId: "sub-1", reason: null });
    expect(codeOf(() => decideSubscription({ type: "ReactivateSubscription", subscriptionId: "sub-1" }, cancelled, context))).toBe("invalid-state");
    expect(codeOf(() => decideSubscription({ type: "ChangeSubscriptionPlan", subscriptionId: "sub-1", planId: "gold", plan: plan("gold") }, cancelled, context))).toBe(
      "invalid-state",
    );
    expect(decideSubscription({ type: "CancelSubscription", subscriptionId: "sub-1", reason: null }, cancelled, context)).toEqual([]);
  });
});
