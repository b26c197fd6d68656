import {
  billingEventId,
  billingStream,
  parseEvent,
  streamPrefix,
  streamCategories,
  stripeCustomerStream,
  type StripeCustomerLinked,
  type StripeSubscriptionCancelled,
  type StripeSubscriptionLinked,
  type StripeSubscriptionPriceChanged,
  type StripeSyncFailed,
  type StripeSyncStep,
  type SubscriptionEvent,
} from "@tollgate/events";
import type { EventStore, EventToAppend, Projector, RecordedEvent } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import { reportBackoffDelay, type ReportBackoff } from "../report-backoff.js";
import { MeterEventError } from "../stripe-meter-sender.js";
import { decideStripeSync, stripeSyncEventTypes, stripeSyncKeys, type CustomerSource, type StripeSyncIntent } from "./decide-stripe-sync.js";
import type { StripeBillingClient } from "./stripe-billing-client.js";
import type { StripeCustomerLinks } from "./stripe-customer-links.js";
import { readStripeSyncFacts } from "./stripe-sync-facts.js";
import { abortableSleep } from "../abortable-sleep.js";

export interface StripeSyncOptions {
  /** The projector's name, under which its checkpoint is stored (in the billing projector's file). */
  name: string;
  eventStore: EventStore;
  client: StripeBillingClient;
  links: StripeCustomerLinks;
  backoff: ReportBackoff;
  /** A consumer got a Stripe customer: its waiting usage can be reported now. */
  onCustomerLinked?: () => void;
  now?: () => number;
  random?: () => number;
  logger?: Logger;
}

export interface StripeSyncStats {
  steps: number;
  retries: number;
  failed: number;
  consecutiveFailures: number;
  lastError: string | null;
}

class StoppingError extends Error {
  constructor() {
    super("the Stripe sync is stopping");
    this.name = "StoppingError";
  }
}

/**
 * Carries control-plane subscription events into Stripe: a paid subscription gets a Stripe
 * customer (one per consumer) and a Stripe subscription on the plan's price; a plan change
 * moves the subscription item to the new price; a cancellation cancels it.
 *
 * Each event is handled in log order, one step at a time, and each step in this order:
 * 1. decide from the log (the plan and consumer as they stood at the event, and the
 *    subscription's billing stream, which records every step done with its source position);
 * 2. call Stripe with an Idempotency-Key derived from the consumer (customers) or from the
 *    subscription and the event's position (everything else). 429, 5xx, 401/403, timeouts
 *    and connection errors are retried with backoff, forever: the step is never skipped;
 * 3. append the record (StripeCustomerLinked, StripeSubscriptionLinked, …) with an event id
 *    derived from the same inputs, so a second append of it is skipped by the store.
 * A crash after 2 repeats the call on restart: Stripe replays its answer for the key (within
 * 24 h). A crash after 3 decides "done" on restart and calls nothing. The checkpoint moves only
 * after a whole batch, so delivery is at least once, and the log makes the effect once.
 *
 * StripeCustomerLinked events come back through the same subscription and are folded into
 * the customer links the usage reporter reads.
 */
export class StripeSync {
  readonly #options: StripeSyncOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #stopping = new AbortController();
  readonly #stats: StripeSyncStats = { steps: 0, retries: 0, failed: 0, consecutiveFailures: 0, lastError: null };

  constructor(options: StripeSyncOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  stats(): StripeSyncStats {
    return { ...this.#stats };
  }

  /** Ends a backoff wait at once; the batch in flight fails and is delivered again on the next start. */
  stop(): void {
    this.#stopping.abort();
  }

  projector(): Projector {
    return {
      name: this.#options.name,
      filter: {
        streamPrefixes: [streamPrefix(streamCategories.subscription), stripeCustomerStream("")],
        eventTypes: [...stripeSyncEventTypes, "StripeCustomerLinked"],
      },
      handle: async (batch) => {
        for (const recorded of batch) await this.handleEvent(recorded);
      },
    };
  }

  /** One event of the log; exported through the projector, public for tests. */
  async handleEvent(recorded: RecordedEvent): Promise<void> {
    const event = parseEvent(recorded.type, recorded.version, recorded.data);
    if (event.type === "StripeCustomerLinked") {
      this.#options.links.link(event.data.consumerId, event.data.stripeCustomerId, recorded.position);
      this.#options.onCustomerLinked?.();
      return;
    }
    if (!(stripeSyncEventTypes as readonly string[]).includes(event.type)) return;
    const subscriptionEvent = event as SubscriptionEvent;
    const facts = await readStripeSyncFacts(this.#options.eventStore, subscriptionEvent, recorded.position);
    const intent = decideStripeSync(subscriptionEvent, recorded.position, facts);
    if (intent === null) return;
    await this.#carryOut(intent, recorded.position, facts.linkedStripeCustomerId);
  }

  async #carryOut(intent: StripeSyncIntent, position: bigint, linkedStripeCustomerId: string | null): Promise<void> {
    const { client, logger } = this.#options;
    const at = new Date(this.#now()).toISOString();
    const source = position.toString();
    switch (intent.kind) {
      case "create-subscription": {
        const stripeCustomerId = await this.#customer(intent.consumerId, intent.subscriptionId, intent.customer, position, linkedStripeCustomerId);
        if (stripeCustomerId === null) return;
        const created = await this.#step(intent.subscriptionId, "create-subscription", position, () =>
          client.createSubscription(
            { subscriptionId: intent.subscriptionId, consumerId: intent.consumerId, stripeCustomerId, stripePriceId: intent.stripePriceId },
            stripeSyncKeys.subscription(intent.subscriptionId, position),
          ),
        );
        if (created === null) return;
        const linked: StripeSubscriptionLinked = {
          type: "StripeSubscriptionLinked",
          version: 1,
          data: {
            subscriptionId: intent.subscriptionId,
            consumerId: intent.consumerId,
            planId: intent.planId,
            stripeCustomerId,
            ...created,
            stripePriceId: intent.stripePriceId,
            sourcePosition: source,
            linkedAt: at,
          },
        };
        await this.#record(billingStream(intent.subscriptionId), `subscription-linked`, `${intent.subscriptionId}\n${source}`, linked);
        logger?.info({ subscriptionId: intent.subscriptionId, stripeSubscriptionId: created.stripeSubscriptionId }, "Stripe subscription created");
        return;
      }
      case "change-price": {
        const { link } = intent;
        const changed = await this.#step(intent.subscriptionId, "change-price", position, () =>
          client.changeSubscriptionPrice(
            { stripeSubscriptionId: link.stripeSubscriptionId, stripeSubscriptionItemId: link.stripeSubscriptionItemId, stripePriceId: intent.toStripePriceId },
            stripeSyncKeys.price(intent.subscriptionId, position),
          ),
        );
        if (changed === null) return;
        const event: StripeSubscriptionPriceChanged = {
          type: "StripeSubscriptionPriceChanged",
          version: 1,
          data: {
            subscriptionId: intent.subscriptionId,
            planId: intent.planId,
            stripeSubscriptionId: link.stripeSubscriptionId,
            stripeSubscriptionItemId: link.stripeSubscriptionItemId,
            fromStripePriceId: link.stripePriceId,
            toStripePriceId: intent.toStripePriceId,
            sourcePosition: source,
            changedAt: at,
          },
        };
        await this.#record(billingStream(intent.subscriptionId), "price-changed", `${intent.subscriptionId}\n${source}`, event);
        logger?.info({ subscriptionId: intent.subscriptionId, stripePriceId: intent.toStripePriceId }, "Stripe subscription moved to the new plan's price");
        return;
      }
      case "cancel": {
        const { link } = intent;
        if (intent.callStripe) {
          const cancelled = await this.#step(intent.subscriptionId, "cancel-subscription", position, () =>
            client.cancelSubscription(link.stripeSubscriptionId, stripeSyncKeys.cancel(intent.subscriptionId, position)),
          );
          if (cancelled === null) return;
        }
        const event: StripeSubscriptionCancelled = {
          type: "StripeSubscriptionCancelled",
          version: 1,
          data: { subscriptionId: intent.subscriptionId, stripeSubscriptionId: link.stripeSubscriptionId, reason: intent.reason, sourcePosition: source, cancelledAt: at },
        };
        await this.#record(billingStream(intent.subscriptionId), "subscription-cancelled", `${intent.subscriptionId}\n${source}`, event);
        logger?.info({ subscriptionId: intent.subscriptionId, reason: intent.reason }, "Stripe subscription cancelled");
        return;
      }
    }
  }

  /** The consumer's Stripe customer, created (and linked) first when it has none; null when Stripe refused it for good. */
  async #customer(consumerId: string, subscriptionId: string, source: CustomerSource, position: bigint, linked: string | null): Promise<string | null> {
    if (source.kind === "linked") return source.stripeCustomerId;
    let stripeCustomerId: string;
    if (source.kind === "label") {
      stripeCustomerId = source.stripeCustomerId;
      if (linked === stripeCustomerId) return stripeCustomerId;
    } else {
      const created = await this.#step(subscriptionId, "create-customer", position, () =>
        this.#options.client.createCustomer({ consumerId, name: source.name, email: source.email }, stripeSyncKeys.customer(consumerId)),
      );
      if (created === null) return null;
      stripeCustomerId = created.stripeCustomerId;
    }
    const event: StripeCustomerLinked = {
      type: "StripeCustomerLinked",
      version: 1,
      data: { consumerId, stripeCustomerId, source: source.kind === "label" ? "label" : "created", sourcePosition: position.toString(), linkedAt: new Date(this.#now()).toISOString() },
    };
    await this.#record(stripeCustomerStream(consumerId), "customer-linked", `${consumerId}\n${stripeCustomerId}`, event);
    return stripeCustomerId;
  }

  /**
   * Runs one Stripe call until it succeeds or Stripe refuses it for good. A refusal is
   * recorded as StripeSyncFailed (which marks the event done: it is not retried on replay)
   * and gives null.
   */
  async #step<T>(subscriptionId: string, step: StripeSyncStep, position: bigint, run: () => Promise<T>): Promise<T | null> {
    const { backoff, logger } = this.#options;
    let failures = 0;
    for (;;) {
      if (this.#stopping.signal.aborted) throw new StoppingError();
      try {
        const result = await run();
        this.#stats.steps += 1;
        this.#stats.consecutiveFailures = 0;
        return result;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof MeterEventError && !error.retryable) {
          this.#stats.failed += 1;
          this.#stats.lastError = message;
          logger?.error({ subscriptionId, step, statusCode: error.statusCode, error: message }, "Stripe refused a sync step; recorded as StripeSyncFailed");
          const failed: StripeSyncFailed = {
            type: "StripeSyncFailed",
            version: 1,
            data: { subscriptionId, step, statusCode: error.statusCode, message: message.slice(0, 500), sourcePosition: position.toString(), failedAt: new Date(this.#now()).toISOString() },
          };
          await this.#record(billingStream(subscriptionId), "sync-failed", `${subscriptionId}\n${position}`, failed);
          return null;
        }
        failures += 1;
        this.#stats.retries += 1;
        this.#stats.consecutiveFailures = failures;
        this.#stats.lastError = message;
        const delayMs = reportBackoffDelay(failures, backoff, this.#random);
        logger?.warn({ subscriptionId, step, kind: error instanceof MeterEventError ? error.kind : "error", failures, delayMs, error: message }, "Stripe sync step failed; retrying");
        await abortableSleep(delayMs, this.#stopping.signal);
      }
    }
  }

  async #record(streamId: string, kind: string, key: string, event: { type: string; version: number; data: unknown }): Promise<void> {
    const toAppend: EventToAppend = { id: billingEventId(kind, key), type: event.type, version: event.version, data: event.data };
    await this.#options.eventStore.append(streamId, [toAppend]);
  }
}
