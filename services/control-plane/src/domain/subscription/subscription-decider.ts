import { evolveSubscription, type Subscription } from "@tollgate/credentials";
import { streamCategories, subscriptionEventTypes, type SubscriptionEvent } from "@tollgate/events";
import type { Decider } from "../decider.js";
import { decideSubscription, type SubscriptionCommand } from "./decide-subscription.js";

export const subscriptionDecider: Decider<SubscriptionCommand, Subscription | null, SubscriptionEvent> = {
  category: streamCategories.subscription,
  eventTypes: subscriptionEventTypes,
  initialState: null,
  evolve: evolveSubscription,
  decide: decideSubscription,
};
