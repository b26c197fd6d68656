import { stripeWebhooksActor, type StripeCancellationReason, type SubscriptionEvent, type TollgateEvent } from "@tollgate/events";

/**
 * What the Stripe sync does for one subscription event, as pure functions of the event
 * and of what the log says at its position. The log is the record of what was already
 * done: every Stripe step appends an event naming the position of the control event it
 * carried out (`sourcePosition`), so a replay, a restart or a redelivered batch decides
 * "nothing to do" for a step already recorded, and Stripe is not called again.
 */

/** The Stripe subscription a Tollgate subscription is linked to, folded from its billing stream. */
export interface SubscriptionLink {
  readonly stripeCustomerId: string;
  readonly stripeSubscriptionId: string;
  readonly stripeSubscriptionItemId: string;
  readonly stripePriceId: string;
  readonly cancelled: boolean;
}

/** A subscription's billing stream as the sync reads it. */
export interface SubscriptionRecord {
  /** The latest link; null before the first StripeSubscriptionLinked. */
  readonly link: SubscriptionLink | null;
  /** Source positions (decimal) of the control events already carried out, or refused for good. */
  readonly done: ReadonlySet<string>;
}

export const emptySubscriptionRecord: SubscriptionRecord = { link: null, done: new Set() };

/** Folds one event of `billing-<subscriptionId>`; events of other kinds (UsageReported, period closes) leave it as it is. */
export function evolveSubscriptionRecord(record: SubscriptionRecord, event: TollgateEvent): SubscriptionRecord {
  const done = (position: string): Set<string> => new Set([...record.done, position]);
  switch (event.type) {
    case "StripeSubscriptionLinked": {
      const { stripeCustomerId, stripeSubscriptionId, stripeSubscriptionItemId, stripePriceId, sourcePosition } = event.data;
      return { link: { stripeCustomerId, stripeSubscriptionId, stripeSubscriptionItemId, stripePriceId, cancelled: false }, done: done(sourcePosition) };
    }
    case "StripeSubscriptionPriceChanged":
      return { link: record.link === null ? null : { ...record.link, stripePriceId: event.data.toStripePriceId }, done: done(event.data.sourcePosition) };
    case "StripeSubscriptionCancelled":
      return { link: record.link === null ? null : { ...record.link, cancelled: true }, done: done(event.data.sourcePosition) };
    case "StripeSyncFailed":
      return { link: record.link, done: done(event.data.sourcePosition) };
    default:
      return record;
  }
}

/** The consumer as it stood at the event's position. */
export interface ConsumerFacts {
  readonly name: string;
  readonly email: string | null;
  /** The `stripeCustomerId` label: an operator's override, used instead of creating a customer. */
  readonly labelledStripeCustomerId: string | null;
}

/** What the sync reads from the log before deciding on a subscription event. */
export interface StripeSyncFacts {
  readonly record: SubscriptionRecord;
  /** The Stripe price of the plan the event puts the subscription on, at the event's position; null: the plan bills nothing in Stripe (or does not exist). */
  readonly stripePriceId: string | null;
  readonly consumer: ConsumerFacts | null;
  /** The consumer's latest StripeCustomerLinked. */
  readonly linkedStripeCustomerId: string | null;
}

/** Where the subscription's Stripe customer comes from. */
export type CustomerSource =
  | { readonly kind: "label"; readonly stripeCustomerId: string }
  | { readonly kind: "linked"; readonly stripeCustomerId: string }
  | { readonly kind: "create"; readonly name: string; readonly email: string | null };

export type StripeSyncIntent =
  | {
      readonly kind: "create-subscription";
      readonly subscriptionId: string;
      readonly consumerId: string;
      readonly planId: string;
      readonly stripePriceId: string;
      readonly customer: CustomerSource;
    }
  | { readonly kind: "change-price"; readonly subscriptionId: string; readonly planId: string; readonly link: SubscriptionLink; readonly toStripePriceId: string }
  | {
      readonly kind: "cancel";
      readonly subscriptionId: string;
      readonly link: SubscriptionLink;
      readonly reason: StripeCancellationReason;
      /** False when Stripe cancelled it first: only the record is appended. */
      readonly callStripe: boolean;
    };

/** The subscription events the sync acts on. */
export const stripeSyncEventTypes = ["SubscriptionStarted", "SubscriptionPlanChanged", "SubscriptionCancelled"] as const satisfies readonly SubscriptionEvent["type"][];

/** The step for `event` at `position`; null: nothing to do in Stripe (no price, no link, or already done). */
export function decideStripeSync(event: SubscriptionEvent, position: bigint, facts: StripeSyncFacts): StripeSyncIntent | null {
  const { record } = facts;
  if (record.done.has(position.toString())) return null;
  const liveLink = record.link !== null && !record.link.cancelled ? record.link : null;
  const createFor = (consumerId: string, planId: string): StripeSyncIntent | null => {
    if (facts.stripePriceId === null || facts.consumer === null) return null;
    return {
      kind: "create-subscription",
      subscriptionId: event.data.subscriptionId,
      consumerId,
      planId,
      stripePriceId: facts.stripePriceId,
      customer: customerSource(facts.consumer, facts.linkedStripeCustomerId),
    };
  };
  switch (event.type) {
    case "SubscriptionStarted":
      // Linked already (a replay of a log whose record predates this event's position cannot happen: records follow their event).
      return liveLink === null ? createFor(event.data.consumerId, event.data.planId) : null;
    case "SubscriptionPlanChanged": {
      const { subscriptionId, consumerId, toPlanId } = event.data;
      if (liveLink === null) return createFor(consumerId, toPlanId);
      if (facts.stripePriceId === null) return { kind: "cancel", subscriptionId, link: liveLink, reason: "plan-unpriced", callStripe: true };
      if (facts.stripePriceId === liveLink.stripePriceId) return null;
      return { kind: "change-price", subscriptionId, planId: toPlanId, link: liveLink, toStripePriceId: facts.stripePriceId };
    }
    case "SubscriptionCancelled": {
      if (liveLink === null) return null;
      const byStripe = event.data.actor.kind === stripeWebhooksActor.kind && event.data.actor.id === stripeWebhooksActor.id;
      return {
        kind: "cancel",
        subscriptionId: event.data.subscriptionId,
        link: liveLink,
        reason: byStripe ? "cancelled-in-stripe" : "subscription-cancelled",
        callStripe: !byStripe,
      };
    }
    default:
      return null;
  }
}

function customerSource(consumer: ConsumerFacts, linked: string | null): CustomerSource {
  if (consumer.labelledStripeCustomerId !== null) return { kind: "label", stripeCustomerId: consumer.labelledStripeCustomerId };
  if (linked !== null) return { kind: "linked", stripeCustomerId: linked };
  return { kind: "create", name: consumer.name, email: consumer.email };
}

/** Idempotency keys: a retry of a step sends the same key (and the same body), so Stripe answers it once. */
export const stripeSyncKeys = {
  /** One customer per consumer: derived from the consumer id alone. */
  customer: (consumerId: string): string => `tollgate-customer-${consumerId}`,
  subscription: (subscriptionId: string, position: bigint): string => `tollgate-subscription-${subscriptionId}-${position}`,
  price: (subscriptionId: string, position: bigint): string => `tollgate-subscription-price-${subscriptionId}-${position}`,
  cancel: (subscriptionId: string, position: bigint): string => `tollgate-subscription-cancel-${subscriptionId}-${position}`,
};
