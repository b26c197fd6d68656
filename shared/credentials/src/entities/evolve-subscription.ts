import type { SubscriptionEvent } from "@tollgate/events";

export const subscriptionStatuses = ["active", "suspended", "cancelled"] as const;
export type SubscriptionStatus = (typeof subscriptionStatuses)[number];

export interface Subscription {
  subscriptionId: string;
  consumerId: string;
  planId: string;
  /** Only `active` admits requests at the gateway. `cancelled` is final. */
  status: SubscriptionStatus;
}

/** Folds one subscription event; `null` is a subscription that was never started. */
export function evolveSubscription(state: Subscription | null, event: SubscriptionEvent): Subscription | null {
  switch (event.type) {
    case "SubscriptionStarted": {
      const { subscriptionId, consumerId, planId } = event.data;
      return { subscriptionId, consumerId, planId, status: "active" };
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
