import type { BillingRulesOverride, ConsumerRegistered, ConsumerUpdated, PlanCreated, PlanPricing, PlanUpdated, RequestEvent, SubscriptionPlanChanged, SubscriptionStarted, TollgateEvent } from "@tollgate/events";
import type { RecordedEvent } from "@tollgate/eventstore";
import { requestEventFixtures, type RequestShape } from "@tollgate/events/testing";

const actor = { kind: "admin" as const, id: "test" };

export function planCreated(planId: string, meterEventName: string | null, pricing?: PlanPricing): PlanCreated {
  return {
    type: "PlanCreated",
    version: 1,
    data: {
      planId,
      name: planId,
      description: "",
      public: true,
      rateLimits: [],
      quota: null,
      routes: ["*"],
      scopes: [],
      price: { stripePriceId: meterEventName === null ? null : `price_${planId}`, stripeMeterEventName: meterEventName },
      ...(pricing === undefined ? {} : { pricing }),
      actor,
    },
  };
}

/** The plan's own billing rules change (PlanDefinition.billing), as the control plane records it. */
export function planBillingChanged(planId: string, billing: BillingRulesOverride | null): PlanUpdated {
  return { type: "PlanUpdated", version: 1, data: { planId, changes: { billing }, actor } };
}

export function planMeterChanged(planId: string, meterEventName: string | null): PlanUpdated {
  return { type: "PlanUpdated", version: 1, data: { planId, changes: { price: { stripePriceId: `price_${planId}_2`, stripeMeterEventName: meterEventName } }, actor } };
}

export function consumerRegistered(consumerId: string, stripeCustomerId: string | null): ConsumerRegistered {
  return {
    type: "ConsumerRegistered",
    version: 1,
    data: { consumerId, name: consumerId, email: null, labels: stripeCustomerId === null ? {} : { stripeCustomerId }, actor },
  };
}

export function consumerLabelled(consumerId: string, stripeCustomerId: string): ConsumerUpdated {
  return { type: "ConsumerUpdated", version: 1, data: { consumerId, changes: { labels: { stripeCustomerId } }, actor } };
}

export function subscriptionStarted(subscriptionId: string, consumerId: string, planId: string, billingAnchor?: string | null): SubscriptionStarted {
  return { type: "SubscriptionStarted", version: 1, data: { subscriptionId, consumerId, planId, ...(billingAnchor === undefined ? {} : { billingAnchor }), actor } };
}

export function subscriptionPlanChanged(subscriptionId: string, consumerId: string, fromPlanId: string, toPlanId: string): SubscriptionPlanChanged {
  return { type: "SubscriptionPlanChanged", version: 1, data: { subscriptionId, consumerId, fromPlanId, toPlanId, actor } };
}

const requests = requestEventFixtures({ planId: "metered" });
export const { completed, failed, webSocketSession } = requests;
export type { RequestShape } from "@tollgate/events/testing";

/** A request a rate limit refused. */
export function rejected(shape: RequestShape = {}): RequestEvent {
  return requests.rejected(shape, "rate-limit", "per-second");
}

/** Events as the log would deliver them, at positions 1, 2, 3… from `first`. */
export function recorded(events: readonly TollgateEvent[], first = 1): RecordedEvent[] {
  return events.map((event, index) => {
    const streamId =
      event.type.startsWith("Request") ? "requests-gw-1"
      : event.type.startsWith("Plan") ? `plan-${(event.data as { planId: string }).planId}`
      : event.type.startsWith("Consumer") ? `consumer-${(event.data as { consumerId: string }).consumerId}`
      : `subscription-${(event.data as { subscriptionId: string }).subscriptionId}`;
    return { id: `e-${first + index}`, type: event.type, version: 1, data: event.data, metadata: {}, streamId, revision: 0, position: BigInt(first + index), recordedAt: new Date(0) };
  });
}
