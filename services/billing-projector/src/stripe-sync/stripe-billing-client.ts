import { tollgateConsumerMetadataKey, tollgateSubscriptionMetadataKey } from "@tollgate/events";
import type Stripe from "stripe";
import { classifyStripeError } from "../stripe-meter-sender.js";

export interface CreateCustomerInput {
  readonly consumerId: string;
  readonly name: string;
  readonly email: string | null;
}

export interface CreateSubscriptionInput {
  readonly subscriptionId: string;
  readonly consumerId: string;
  readonly stripeCustomerId: string;
  readonly stripePriceId: string;
}

export interface CreatedSubscription {
  readonly stripeSubscriptionId: string;
  /** The item carrying the metered price. */
  readonly stripeSubscriptionItemId: string;
}

/**
 * The Stripe calls the sync makes: the port. The SDK adapter below in production, a fake in
 * unit tests. Every call carries an Idempotency-Key; every failure is a MeterEventError
 * (classifyStripeError), whose `retryable` says whether the same call is sent again.
 */
export interface StripeBillingClient {
  createCustomer(input: CreateCustomerInput, idempotencyKey: string): Promise<{ stripeCustomerId: string }>;
  createSubscription(input: CreateSubscriptionInput, idempotencyKey: string): Promise<CreatedSubscription>;
  /** Moves the item to another price; Stripe prorates as the account is set up to. */
  changeSubscriptionPrice(input: { stripeSubscriptionId: string; stripeSubscriptionItemId: string; stripePriceId: string }, idempotencyKey: string): Promise<void>;
  cancelSubscription(stripeSubscriptionId: string, idempotencyKey: string): Promise<void>;
}

/**
 * The stripe SDK adapter. The Tollgate ids go into Stripe's metadata: the customer's
 * `tollgateConsumerId`, the subscription's `tollgateSubscriptionId` (which Stripe copies
 * into the webhook events about it, so the webhooks endpoint can map a Stripe subscription
 * back without a lookup).
 */
export function stripeBillingClient(stripe: Stripe): StripeBillingClient {
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw classifyStripeError(error);
    }
  };
  return {
    createCustomer: (input, idempotencyKey) =>
      call(async () => {
        const customer = await stripe.customers.create(
          { name: input.name, ...(input.email === null ? {} : { email: input.email }), metadata: { [tollgateConsumerMetadataKey]: input.consumerId } },
          { idempotencyKey },
        );
        return { stripeCustomerId: customer.id };
      }),
    createSubscription: (input, idempotencyKey) =>
      call(async () => {
        const subscription = await stripe.subscriptions.create(
          {
            customer: input.stripeCustomerId,
            // A metered price has no quantity: usage reaches it through the meter.
            items: [{ price: input.stripePriceId }],
            metadata: { [tollgateSubscriptionMetadataKey]: input.subscriptionId, [tollgateConsumerMetadataKey]: input.consumerId },
          },
          { idempotencyKey },
        );
        const item = subscription.items.data[0];
        if (item === undefined) throw new Error(`Stripe subscription ${subscription.id} came back without items`);
        return { stripeSubscriptionId: subscription.id, stripeSubscriptionItemId: item.id };
      }),
    changeSubscriptionPrice: (input, idempotencyKey) =>
      call(async () => {
        await stripe.subscriptions.update(input.stripeSubscriptionId, { items: [{ id: input.stripeSubscriptionItemId, price: input.stripePriceId }] }, { idempotencyKey });
      }),
    cancelSubscription: (stripeSubscriptionId, idempotencyKey) =>
      call(async () => {
        await stripe.subscriptions.cancel(stripeSubscriptionId, {}, { idempotencyKey });
      }),
  };
}
