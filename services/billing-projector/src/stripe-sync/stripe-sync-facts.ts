import { billingStream, parseEvent, streams, stripeCustomerStream, type SubscriptionEvent } from "@tollgate/events";
import type { EventStore, RecordedEvent } from "@tollgate/eventstore";
import { stripeCustomerLabel } from "../usage-aggregation.js";
import { emptySubscriptionRecord, evolveSubscriptionRecord, type ConsumerFacts, type StripeSyncFacts, type SubscriptionRecord } from "./decide-stripe-sync.js";

const recordTypes: ReadonlySet<string> = new Set(["StripeSubscriptionLinked", "StripeSubscriptionPriceChanged", "StripeSubscriptionCancelled", "StripeSyncFailed"]);

/**
 * Reads, from the log, what the sync decides on: the plan and the consumer as they stood
 * at the event's position (so a replay decides as the first run did), the consumer's
 * latest Stripe customer link, and the subscription's billing stream.
 */
export async function readStripeSyncFacts(store: EventStore, event: SubscriptionEvent, position: bigint): Promise<StripeSyncFacts> {
  const { subscriptionId, consumerId } = event.data;
  const record = await readSubscriptionRecord(store, subscriptionId);
  const planId = event.type === "SubscriptionStarted" ? event.data.planId : event.type === "SubscriptionPlanChanged" ? event.data.toPlanId : null;
  if (planId === null) return { record, stripePriceId: null, consumer: null, linkedStripeCustomerId: null };
  const [stripePriceId, consumer, linkedStripeCustomerId] = await Promise.all([
    planPriceAt(store, planId, position),
    consumerAt(store, consumerId, position),
    latestCustomerLink(store, consumerId),
  ]);
  return { record, stripePriceId, consumer, linkedStripeCustomerId };
}

export async function readSubscriptionRecord(store: EventStore, subscriptionId: string): Promise<SubscriptionRecord> {
  let record = emptySubscriptionRecord;
  for (const recorded of await store.readStream(billingStream(subscriptionId))) {
    if (recordTypes.has(recorded.type)) record = evolveSubscriptionRecord(record, parseRecorded(recorded));
  }
  return record;
}

async function planPriceAt(store: EventStore, planId: string, position: bigint): Promise<string | null> {
  let price: string | null = null;
  for (const recorded of await store.readStream(streams.plan(planId))) {
    if (recorded.position > position) break;
    const event = parseRecorded(recorded);
    if (event.type === "PlanCreated") price = event.data.price.stripePriceId;
    else if (event.type === "PlanUpdated" && event.data.changes.price !== undefined) price = event.data.changes.price.stripePriceId;
  }
  return price;
}

async function consumerAt(store: EventStore, consumerId: string, position: bigint): Promise<ConsumerFacts | null> {
  let consumer: ConsumerFacts | null = null;
  for (const recorded of await store.readStream(streams.consumer(consumerId))) {
    if (recorded.position > position) break;
    const event = parseRecorded(recorded);
    if (event.type === "ConsumerRegistered") {
      consumer = { name: event.data.name, email: event.data.email, labelledStripeCustomerId: event.data.labels[stripeCustomerLabel] ?? null };
    } else if (event.type === "ConsumerUpdated" && consumer !== null) {
      const { name, email, labels } = event.data.changes;
      consumer = {
        name: name ?? consumer.name,
        email: email === undefined ? consumer.email : email,
        labelledStripeCustomerId: labels === undefined ? consumer.labelledStripeCustomerId : (labels[stripeCustomerLabel] ?? null),
      };
    }
  }
  return consumer;
}

export async function latestCustomerLink(store: EventStore, consumerId: string): Promise<string | null> {
  const recorded = await store.readStream(stripeCustomerStream(consumerId));
  const last = recorded.at(-1);
  if (last === undefined) return null;
  const event = parseRecorded(last);
  return event.type === "StripeCustomerLinked" ? event.data.stripeCustomerId : null;
}

function parseRecorded(recorded: RecordedEvent) {
  return parseEvent(recorded.type, recorded.version, recorded.data);
}
