import type { PlanCreated, PlanUpdated, Quota, SubscriptionPlanChanged, SubscriptionStarted } from "@tollgate/events";
import { requestEventFixtures } from "@tollgate/events/testing";

const actor = { kind: "admin" as const, id: "test" };

export function planCreated(planId: string, quota: Quota | null): PlanCreated {
  return {
    type: "PlanCreated",
    version: 1,
    data: {
      planId,
      name: planId,
      description: "",
      public: true,
      rateLimits: [],
      quota,
      routes: ["*"],
      scopes: [],
      price: { stripePriceId: null, stripeMeterEventName: null },
      actor,
    },
  };
}

export function planQuotaChanged(planId: string, quota: Quota | null): PlanUpdated {
  return { type: "PlanUpdated", version: 1, data: { planId, changes: { quota }, actor } };
}

export function subscriptionStarted(subscriptionId: string, planId: string, billingAnchor?: string | null): SubscriptionStarted {
  return {
    type: "SubscriptionStarted",
    version: 1,
    data: { subscriptionId, consumerId: "consumer-1", planId, ...(billingAnchor === undefined ? {} : { billingAnchor }), actor },
  };
}

export function subscriptionPlanChanged(subscriptionId: string, fromPlanId: string, toPlanId: string): SubscriptionPlanChanged {
  return { type: "SubscriptionPlanChanged", version: 1, data: { subscriptionId, consumerId: "consumer-1", fromPlanId, toPlanId, actor } };
}

const requests = requestEventFixtures({ planId: "gold" });
export const { completed, rejected, failed, webSocketSession } = requests;
export type { RequestShape } from "@tollgate/events/testing";
