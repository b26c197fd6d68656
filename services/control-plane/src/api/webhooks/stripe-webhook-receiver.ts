import {
  billingEventId,
  entityIdPattern,
  streams,
  stripeWebhooksActor,
  stripeWebhookStream,
  StripeWebhookReceived,
  type StripeWebhookOutcome,
} from "@tollgate/events";
import { WrongExpectedRevisionError } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import Stripe from "stripe";
import type { ControlPlaneServices } from "../../application/control-plane-services.js";
import type { WriteOptions } from "../../application/service-context.js";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import { paymentEventTypes, StripeSubscriptionIndex } from "./stripe-subscription-index.js";
import { stripeWebhookProblems } from "./stripe-webhook-problems.js";
import { stripeWebhookSubject } from "./stripe-webhook-subject.js";

export interface StripeWebhookReceiverOptions {
  services: ControlPlaneServices;
  /** The endpoint's signing secret; null: every delivery is answered 503 (Stripe retries). Never logged. */
  signingSecret: string | null;
  toleranceSeconds: number;
  now?: () => number;
  logger?: Logger;
}

export interface StripeWebhookAnswer {
  received: true;
  eventId: string;
  eventType: string;
  outcome: StripeWebhookOutcome;
  /** True for a redelivery of an event already recorded: answered as before, without a second effect. */
  duplicate: boolean;
}

/** What a Stripe event does to the subscription it is about. */
const effects: Readonly<Record<string, "suspend" | "reactivate" | "cancel">> = {
  "invoice.payment_failed": "suspend",
  "invoice.paid": "reactivate",
  "customer.subscription.deleted": "cancel",
};

/**
 * Receives Stripe webhook deliveries. In this order:
 * 1. the signature: `Stripe.webhooks.constructEvent` over the raw body, with the signing
 *    secret and a tolerance on the signed timestamp (unsigned, forged, altered or older
 *    deliveries are refused with 400; a replayed old delivery fails the tolerance);
 * 2. the dedupe: a delivery of a Stripe event id already recorded is answered 200 with
 *    the recorded outcome and has no effect (Stripe redelivers on timeouts and errors);
 * 3. the effect, through the control plane's own commands (the same path as the admin
 *    API, actor `system/stripe-webhooks`): the gateway sees it as it sees any change;
 * 4. the record: StripeWebhookReceived on `billing-webhook:<eventId>`, appended with
 *    expected revision "no stream", so two concurrent deliveries record one event.
 * A crash between 3 and 4 leaves the event unrecorded: Stripe redelivers it and the
 * effect is applied again, which changes nothing (each command is a no-op on a
 * subscription already in that state).
 */
export class StripeWebhookReceiver {
  readonly #options: StripeWebhookReceiverOptions;
  readonly #now: () => number;
  readonly #index: StripeSubscriptionIndex;

  constructor(options: StripeWebhookReceiverOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#index = new StripeSubscriptionIndex(options.services.context.store);
  }

  async receive(rawBody: Buffer, signature: string | undefined, requestId: string): Promise<StripeWebhookAnswer> {
    const { signingSecret, toleranceSeconds, services, logger } = this.#options;
    if (signingSecret === null) {
      throw new ControlPlaneError(stripeWebhookProblems.notConfigured, "set stripeWebhooks.signingSecret or STRIPE_WEBHOOK_SECRET to the endpoint's signing secret");
    }
    if (signature === undefined || signature === "") {
      throw new ControlPlaneError(stripeWebhookProblems.signatureMissing, "Stripe signs every delivery with a Stripe-Signature header; this one has none");
    }
    let event: Stripe.Event;
    try {
      // receivedAt is in milliseconds (the SDK divides by 1000).
      event = Stripe.webhooks.constructEvent(rawBody, signature, signingSecret, toleranceSeconds, undefined, this.#now());
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // The SDK's messages name the header and the expected scheme, never the secret.
      if (/tolerance/i.test(message)) {
        throw new ControlPlaneError(stripeWebhookProblems.signatureTooOld, `the signature's timestamp is more than ${toleranceSeconds} s old: refused as a possible replay`);
      }
      logger?.warn({ requestId, reason: message.split("\n")[0] }, "Stripe webhook with an invalid signature refused");
      throw new ControlPlaneError(stripeWebhookProblems.signatureInvalid, "the Stripe-Signature does not match the body under the configured signing secret");
    }

    const streamId = stripeWebhookStream(event.id);
    const recorded = await services.context.store.readStream(streamId);
    if (recorded.length > 0) {
      const previous = StripeWebhookReceived.shape.data.parse(recorded[0]!.data);
      logger?.info({ requestId, stripeEventId: event.id, type: event.type, outcome: previous.outcome }, "Stripe webhook redelivered: already recorded, no effect");
      return { received: true, eventId: event.id, eventType: event.type, outcome: previous.outcome, duplicate: true };
    }

    const subject = stripeWebhookSubject(event.type, (event.data as { object?: unknown }).object);
    const effect = effects[event.type];
    const subscriptionId = await this.#subscriptionId(subject);
    const outcome: StripeWebhookOutcome =
      effect === undefined ? "ignored" : subscriptionId === null ? "not-linked" : await this.#apply(effect, subscriptionId, event, { actor: stripeWebhooksActor, requestId });

    const data: StripeWebhookReceived["data"] = {
      stripeEventId: event.id,
      stripeEventType: event.type.slice(0, 100),
      stripeCreatedAt: new Date(event.created * 1_000).toISOString(),
      livemode: event.livemode,
      stripeSubscriptionId: subject.stripeSubscriptionId,
      subscriptionId,
      outcome,
      receivedAt: new Date(this.#now()).toISOString(),
    };
    try {
      await services.context.store.append(streamId, [{ id: billingEventId("webhook", event.id), type: "StripeWebhookReceived", version: 1, data, metadata: { requestId } }], {
        expectedRevision: "no-stream",
      });
    } catch (error) {
      // A concurrent delivery of the same event recorded it first: its effect is the same no-op-safe command.
      if (error instanceof WrongExpectedRevisionError) return { received: true, eventId: event.id, eventType: event.type, outcome, duplicate: true };
      throw error;
    }
    logger?.info({ requestId, stripeEventId: event.id, type: event.type, subscriptionId, outcome }, "Stripe webhook received");
    return { received: true, eventId: event.id, eventType: event.type, outcome, duplicate: false };
  }

  /** Metadata first (set when the billing projector created it), else the StripeSubscriptionLinked records. */
  async #subscriptionId(subject: { stripeSubscriptionId: string | null; tollgateSubscriptionId: string | null }): Promise<string | null> {
    const { readModel } = this.#options.services.context;
    if (subject.tollgateSubscriptionId !== null && entityIdPattern.test(subject.tollgateSubscriptionId) && readModel.subscription(subject.tollgateSubscriptionId)) {
      return subject.tollgateSubscriptionId;
    }
    if (subject.stripeSubscriptionId === null) return null;
    const linked = await this.#index.subscriptionOf(subject.stripeSubscriptionId);
    return linked !== null && readModel.subscription(linked) ? linked : null;
  }

  async #apply(effect: "suspend" | "reactivate" | "cancel", subscriptionId: string, event: Stripe.Event, options: WriteOptions): Promise<StripeWebhookOutcome> {
    const { services } = this.#options;
    // Stripe does not guarantee order: a payment event older than one already applied (a
    // payment_failed delivered after the later invoice.paid) must not undo it.
    if (paymentEventTypes.has(event.type)) {
      const latest = await this.#index.latestPaymentEventAt(subscriptionId);
      if (latest !== null && event.created * 1_000 < latest) return "stale";
    }
    const current = services.context.readModel.subscription(subscriptionId)!.state;
    const objectId = (event.data as { object?: { id?: unknown } }).object?.id;
    const reason = `stripe ${event.type}${typeof objectId === "string" ? ` (${objectId})` : ""}`.slice(0, 500);
    switch (effect) {
      case "suspend":
        if (current.status !== "active") return "unchanged";
        await services.subscriptions.suspend(subscriptionId, reason, options);
        return "suspended";
      case "reactivate": {
        if (current.status !== "suspended") return "unchanged";
        // Only what a failed payment suspended: an operator's suspension stays until the operator lifts it.
        const history = await services.context.store.readStream(streams.subscription(subscriptionId));
        const lastSuspension = history.findLast((recorded) => recorded.type === "SubscriptionSuspended");
        const actor = (lastSuspension?.data as { actor?: { kind?: string; id?: string } } | undefined)?.actor;
        if (actor?.kind !== stripeWebhooksActor.kind || actor.id !== stripeWebhooksActor.id) return "unchanged";
        await services.subscriptions.reactivate(subscriptionId, { ...options, expectedRevision: history.at(-1)!.revision });
        return "reactivated";
      }
      case "cancel":
        if (current.status === "cancelled") return "unchanged";
        await services.subscriptions.cancel(subscriptionId, reason, options);
        return "cancelled";
    }
  }
}
