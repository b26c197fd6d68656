import type { SubscriptionEvent } from "@tollgate/events";

export const subscriptionStatuses = ["active", "suspended", "cancelled"] as const;
export type SubscriptionStatus = (typeof subscriptionStatuses)[number];

export interface Subscription {
  subscriptionId: string;
  consumerId: string;
  planId: string;
  /** Only `active` admits requests at the gateway. `cancelled` is final. */
  status: SubscriptionStatus;
  /** Epoch ms that quota and billing periods are aligned to; null: calendar periods (UTC). */
  billingAnchor: number | null;
}

/** Folds one subscription event; `null` is a subscription that was never started. */
export function evolveSubscription(state: Subscription | null, event: SubscriptionEvent): Subscription | null {
  switch (event.type) {
    case "SubscriptionStarted": {
      const { subscriptionId, consumerId, planId, billingAnchor } = event.data;
      return { subscriptionId, consumerId, planId, status: "active", billingAnchor: billingAnchor == null ? null : Date.parse(billingAnchor) };
    }
    case "SubscriptionSuspended":
      return state && { ...state, status: "suspended" };
    case "SubscriptionReactivated":
      return state && { ...state, status: "active" };
    case "SubscriptionCancelled":
      return state && { ...state, status: "cancelled" };
    case "SubscriptionPlanChanged":
      return state && { ...state, planId: event.data.toPlanId };
  }
}
