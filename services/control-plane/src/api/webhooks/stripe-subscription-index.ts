import { parseEvent } from "@tollgate/events";
import type { EventStore, Position } from "@tollgate/eventstore";

/** The Stripe events that change a subscription's payment standing: their order matters. */
export const paymentEventTypes: ReadonlySet<string> = new Set(["invoice.payment_failed", "invoice.paid"]);

/**
 * What the webhooks endpoint needs from the billing records, folded from the log:
 * - Stripe subscription id → Tollgate subscription id (StripeSubscriptionLinked), for events
 *   whose subscription carries no `tollgateSubscriptionId` metadata;
 * - per subscription, the `created` time of the latest payment event applied
 *   (StripeWebhookReceived), so an older one delivered late is not applied over it.
 * It catches up on demand, reading the log from where it last stopped, so it never misses
 * a record and costs nothing between webhooks.
 */
export class StripeSubscriptionIndex {
  readonly #store: EventStore;
  readonly #byStripeId = new Map<string, string>();
  readonly #latestPaymentAt = new Map<string, number>();
  #position: Position = 0n;
  #catchingUp: Promise<void> | null = null;

  constructor(store: EventStore) {
    this.#store = store;
  }

  async subscriptionOf(stripeSubscriptionId: string): Promise<string | null> {
    await this.#caughtUp();
    return this.#byStripeId.get(stripeSubscriptionId) ?? null;
  }

  /** Epoch ms of the latest payment event applied to the subscription (suspended, reactivated or found so already); null: none yet. */
  async latestPaymentEventAt(subscriptionId: string): Promise<number | null> {
    await this.#caughtUp();
    return this.#latestPaymentAt.get(subscriptionId) ?? null;
  }

  #caughtUp(): Promise<void> {
    return (this.#catchingUp ??= this.#catchUp().finally(() => (this.#catchingUp = null)));
  }

  async #catchUp(): Promise<void> {
    for (;;) {
      const page = await this.#store.readAll({ from: this.#position, limit: 500, filter: { eventTypes: ["StripeSubscriptionLinked", "StripeWebhookReceived"] } });
      for (const recorded of page) {
        const event = parseEvent(recorded.type, recorded.version, recorded.data);
        if (event.type === "StripeSubscriptionLinked") this.#byStripeId.set(event.data.stripeSubscriptionId, event.data.subscriptionId);
        if (event.type === "StripeWebhookReceived") {
          const { subscriptionId, stripeEventType, outcome, stripeCreatedAt } = event.data;
          if (subscriptionId !== null && paymentEventTypes.has(stripeEventType) && (outcome === "suspended" || outcome === "reactivated" || outcome === "unchanged")) {
            this.#latestPaymentAt.set(subscriptionId, Math.max(this.#latestPaymentAt.get(subscriptionId) ?? 0, Date.parse(stripeCreatedAt)));
          }
        }
        this.#position = recorded.position;
      }
      if (page.length < 500) return;
    }
  }
}
