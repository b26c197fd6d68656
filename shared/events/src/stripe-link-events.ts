import { createHash } from "node:crypto";
import { z } from "zod";
import { EntityId } from "./control-events.js";

/**
 * Stripe link events: what Tollgate did in Stripe for its consumers and subscriptions, and
 * every Stripe webhook it accepted. They are billing records, in the `billing` category:
 *
 * - `billing-customer:<consumerId>`: StripeCustomerLinked (the consumer's Stripe customer);
 * - `billing-<subscriptionId>`: StripeSubscriptionLinked, StripeSubscriptionPriceChanged,
 *   StripeSubscriptionCancelled, StripeSyncFailed (beside the subscription's UsageReported);
 * - `billing-webhook:<stripeEventId>`: StripeWebhookReceived, one stream per Stripe event.
 *
 * A colon cannot occur in an entity id, so these never collide with `billing-<subscriptionId>`.
 * Each Stripe step records the log position of the control event it carried out
 * (`sourcePosition`) and gets an event id derived from it, so a replay or a restart
 * finds the step done and appends nothing twice.
 */

const billingCategory = "billing";

/** The stream of a consumer's Stripe customer link. */
export function stripeCustomerStream(consumerId: string): string {
  return `${billingCategory}-customer:${consumerId}`;
}

/** The stream of one Stripe event delivered to the webhooks endpoint: a redelivery finds it already there. */
export function stripeWebhookStream(stripeEventId: string): string {
  return `${billingCategory}-webhook:${stripeEventId}`;
}

/**
 * A deterministic event id (a UUID in the version 8 layout, which EventStoreDB accepts)
 * for the billing record of `key`: appending the same record twice leaves one event.
 */
export function billingEventId(kind: string, key: string): string {
  const hex = createHash("sha256").update(`tollgate-billing-${kind}-v1\n${key}`).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The Stripe subscription metadata key naming the Tollgate subscription; the webhooks endpoint reads it first. */
export const tollgateSubscriptionMetadataKey = "tollgateSubscriptionId";
/** The Stripe customer (and subscription) metadata key naming the Tollgate consumer. */
export const tollgateConsumerMetadataKey = "tollgateConsumerId";

/**
 * The actor of the control-plane commands the webhooks endpoint issues. The sync sees it
 * on SubscriptionCancelled and does not cancel in Stripe what Stripe cancelled itself; the
 * endpoint sees it on SubscriptionSuspended and reactivates on invoice.paid only what a
 * failed payment suspended.
 */
export const stripeWebhooksActor = { kind: "system", id: "stripe-webhooks" } as const;

const isoTime = z.iso.datetime({ offset: true });
const StripeId = z.string().min(1).max(255);
const SourcePosition = z
  .string()
  .regex(/^\d{1,20}$/, "a log position, decimal")
  .describe("Log position of the control-plane event this step carried out");

export const StripeCustomerLinked = z.object({
  type: z.literal("StripeCustomerLinked"),
  version: z.literal(1),
  data: z.object({
    consumerId: EntityId,
    stripeCustomerId: StripeId,
    source: z.enum(["created", "label"]).describe("created: the sync created it in Stripe; label: the consumer's stripeCustomerId label named it"),
    sourcePosition: SourcePosition,
    linkedAt: isoTime,
  }),
});

export const StripeSubscriptionLinked = z.object({
  type: z.literal("StripeSubscriptionLinked"),
  version: z.literal(1),
  data: z.object({
    subscriptionId: EntityId,
    consumerId: EntityId,
    planId: EntityId,
    stripeCustomerId: StripeId,
    stripeSubscriptionId: StripeId,
    stripeSubscriptionItemId: StripeId.describe("The item carrying the plan's metered price: a plan change swaps its price"),
    stripePriceId: StripeId,
    sourcePosition: SourcePosition,
    linkedAt: isoTime,
  }),
});

export const StripeSubscriptionPriceChanged = z.object({
  type: z.literal("StripeSubscriptionPriceChanged"),
  version: z.literal(1),
  data: z.object({
    subscriptionId: EntityId,
    planId: EntityId.describe("The plan moved to"),
    stripeSubscriptionId: StripeId,
    stripeSubscriptionItemId: StripeId,
    fromStripePriceId: StripeId,
    toStripePriceId: StripeId,
    sourcePosition: SourcePosition,
    changedAt: isoTime,
  }),
});

export const stripeCancellationReasons = ["subscription-cancelled", "plan-unpriced", "cancelled-in-stripe"] as const;

export const StripeSubscriptionCancelled = z.object({
  type: z.literal("StripeSubscriptionCancelled"),
  version: z.literal(1),
  data: z.object({
    subscriptionId: EntityId,
    stripeSubscriptionId: StripeId,
    reason: z
      .enum(stripeCancellationReasons)
      .describe(
        "subscription-cancelled: SubscriptionCancelled in Tollgate; plan-unpriced: it moved to a plan without a Stripe price; cancelled-in-stripe: Stripe cancelled it first (customer.subscription.deleted), nothing was sent",
      ),
    sourcePosition: SourcePosition,
    cancelledAt: isoTime,
  }),
});

export const stripeSyncSteps = ["create-customer", "create-subscription", "change-price", "cancel-subscription"] as const;

/**
 * A Stripe step that Stripe refused for good (a 4xx other than 401, 403, 409 and 429: an
 * unknown price, a deleted customer). It is recorded and the sync moves on; changing the
 * plan or the subscription again is what tries anew.
 */
export const StripeSyncFailed = z.object({
  type: z.literal("StripeSyncFailed"),
  version: z.literal(1),
  data: z.object({
    subscriptionId: EntityId,
    step: z.enum(stripeSyncSteps),
    statusCode: z.number().int().nullable(),
    message: z.string().max(500).describe("Stripe's error message (Stripe never echoes the secret key in it)"),
    sourcePosition: SourcePosition,
    failedAt: isoTime,
  }),
});

export const stripeWebhookOutcomes = ["suspended", "reactivated", "cancelled", "unchanged", "stale", "not-linked", "ignored"] as const;

/**
 * One verified Stripe webhook delivery. Only what identifies the event is kept, never its
 * payload (which holds customer details).
 */
export const StripeWebhookReceived = z.object({
  type: z.literal("StripeWebhookReceived"),
  version: z.literal(1),
  data: z.object({
    stripeEventId: z.string().min(1).max(255),
    stripeEventType: z.string().min(1).max(100),
    stripeCreatedAt: isoTime.describe("When Stripe created the event (its `created`)"),
    livemode: z.boolean(),
    stripeSubscriptionId: StripeId.nullable(),
    subscriptionId: EntityId.nullable().describe("The Tollgate subscription it concerns: from the Stripe subscription's metadata, else its StripeSubscriptionLinked"),
    outcome: z
      .enum(stripeWebhookOutcomes)
      .describe(
        "suspended / reactivated / cancelled: the command it caused; unchanged: it already was, or it was suspended for another reason; stale: a payment event older than one already applied to the subscription (Stripe does not guarantee order); not-linked: no Tollgate subscription found; ignored: a type without effect",
      ),
    receivedAt: isoTime,
  }),
});

export const StripeLinkEvent = z.discriminatedUnion("type", [
  StripeCustomerLinked,
  StripeSubscriptionLinked,
  StripeSubscriptionPriceChanged,
  StripeSubscriptionCancelled,
  StripeSyncFailed,
  StripeWebhookReceived,
]);

export type StripeCustomerLinked = z.infer<typeof StripeCustomerLinked>;
export type StripeSubscriptionLinked = z.infer<typeof StripeSubscriptionLinked>;
export type StripeSubscriptionPriceChanged = z.infer<typeof StripeSubscriptionPriceChanged>;
export type StripeSubscriptionCancelled = z.infer<typeof StripeSubscriptionCancelled>;
export type StripeSyncFailed = z.infer<typeof StripeSyncFailed>;
export type StripeCancellationReason = (typeof stripeCancellationReasons)[number];
export type StripeSyncStep = (typeof stripeSyncSteps)[number];
export type StripeWebhookReceived = z.infer<typeof StripeWebhookReceived>;
export type StripeWebhookOutcome = (typeof stripeWebhookOutcomes)[number];
export type StripeLinkEvent = z.infer<typeof StripeLinkEvent>;
