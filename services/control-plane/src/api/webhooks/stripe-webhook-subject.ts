import { tollgateSubscriptionMetadataKey } from "@tollgate/events";

/** The Stripe subscription a webhook event is about, as far as its payload says. */
export interface StripeWebhookSubject {
  readonly stripeSubscriptionId: string | null;
  /** `metadata.tollgateSubscriptionId`, which the billing projector sets when it creates the Stripe subscription. */
  readonly tollgateSubscriptionId: string | null;
}

type Json = Record<string, unknown>;

const asObject = (value: unknown): Json | null => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : null);
const idOf = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : (asObject(value)?.id as string | undefined) ?? null);
const metadataId = (metadata: unknown): string | null => {
  const value = asObject(metadata)?.[tollgateSubscriptionMetadataKey];
  return typeof value === "string" && value !== "" ? value : null;
};

/**
 * Finds the subscription in a Stripe event's object:
 * - `customer.subscription.*`: the object is the subscription (id, metadata);
 * - `invoice.*`: since API version 2025-03-31 the invoice names it in
 *   `parent.subscription_details` (subscription, and a snapshot of its metadata); older
 *   versions in `subscription` and `subscription_details.metadata`. Both are read, so an
 *   endpoint pinned to an older API version works too.
 */
export function stripeWebhookSubject(eventType: string, object: unknown): StripeWebhookSubject {
  const data = asObject(object) ?? {};
  if (eventType.startsWith("customer.subscription.")) {
    return { stripeSubscriptionId: idOf(data.id), tollgateSubscriptionId: metadataId(data.metadata) };
  }
  if (eventType.startsWith("invoice.")) {
    const details = asObject(asObject(data.parent)?.subscription_details);
    const legacyDetails = asObject(data.subscription_details);
    return {
      stripeSubscriptionId: idOf(details?.subscription) ?? idOf(data.subscription),
      tollgateSubscriptionId: metadataId(details?.metadata) ?? metadataId(legacyDetails?.metadata) ?? metadataId(asObject(data.subscription)?.metadata),
    };
  }
  return { stripeSubscriptionId: null, tollgateSubscriptionId: null };
}
