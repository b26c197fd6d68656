import { type BillingRules, type ConsumerEvent, isBillable, type PlanEvent, type PlanPricing, type RequestEvent, type SubscriptionEvent, type TollgateEvent } from "@tollgate/events";
import { billingPeriod } from "./billing-period.js";

/**
 * The billing projection, as pure functions of (document, event). Documents:
 * - a plan's billing terms (its Stripe meter and price, its pricing), from PlanCreated / PlanUpdated;
 * - a subscription's terms (consumer, plan, billing anchor), from SubscriptionStarted / SubscriptionPlanChanged;
 * - a consumer's Stripe customer, from the `stripeCustomerId` label of ConsumerRegistered / ConsumerUpdated;
 * - a subscription's billable usage per meter and service period, from its request events.
 *
 * Plan and subscription events sit in the same log as request events, so each request
 * is billed under its plan as it stood at that point of the log: a price change is a
 * PlanUpdated, and requests before it were counted under the old terms.
 *
 * A usage document also records `throughPosition`, the log position of the last billable
 * request it counted. Its `units` are a function of the log up to that position only,
 * which is what lets the reporter bill contiguous position ranges (usage-report.ts).
 */

/** The consumer label that names a consumer's Stripe customer (until customers are created by the billing service itself). */
export const stripeCustomerLabel = "stripeCustomerId";

export interface PlanBilling {
  readonly planId: string;
  /** The Stripe billing meter's event_name; null: the plan is not metered, and its requests are not billed. */
  readonly meterEventName: string | null;
  readonly stripePriceId: string | null;
  readonly pricing: PlanPricing | null;
}

export interface SubscriptionBilling {
  readonly subscriptionId: string;
  readonly consumerId: string;
  readonly planId: string;
  /** Epoch ms; null: calendar months (UTC). */
  readonly billingAnchor: number | null;
}

export interface CustomerLink {
  readonly consumerId: string;
  readonly stripeCustomerId: string | null;
}

/** One subscription's billable usage on one meter in one service period. */
export interface UsageAggregate {
  readonly subscriptionId: string;
  readonly meterEventName: string;
  readonly periodStart: number;
  readonly periodEnd: number;
  /** The plan of the last request counted. */
  readonly planId: string | null;
  readonly units: number;
  /** Log position of the last billable request counted. */
  readonly throughPosition: bigint;
  /** Latest startedAt (epoch ms) among the requests counted: inside the period, the meter event's natural timestamp. */
  readonly lastEventAt: number;
}

export const billingProjectionEventTypes = [
  "RequestCompleted",
  "RequestRejected",
  "RequestFailed",
  "PlanCreated",
  "PlanUpdated",
  "SubscriptionStarted",
  "SubscriptionPlanChanged",
  "ConsumerRegistered",
  "ConsumerUpdated",
] as const satisfies readonly TollgateEvent["type"][];

export function evolvePlanBilling(plan: PlanBilling | null, event: PlanEvent): PlanBilling | null {
  switch (event.type) {
    case "PlanCreated": {
      const { planId, price, pricing } = event.data;
      return { planId, meterEventName: price.stripeMeterEventName, stripePriceId: price.stripePriceId, pricing: pricing ?? null };
    }
    case "PlanUpdated": {
      if (plan === null) return null;
      const { price, pricing } = event.data.changes;
      return {
        ...plan,
        ...(price === undefined ? {} : { meterEventName: price.stripeMeterEventName, stripePriceId: price.stripePriceId }),
        ...(pricing === undefined ? {} : { pricing }),
      };
    }
    case "PlanArchived":
      // Existing subscriptions keep being billed on the plan until they move off it.
      return plan;
  }
}

export function evolveSubscriptionBilling(terms: SubscriptionBilling | null, event: SubscriptionEvent): SubscriptionBilling | null {
  switch (event.type) {
    case "SubscriptionStarted": {
      const { subscriptionId, consumerId, planId, billingAnchor } = event.data;
      return { subscriptionId, consumerId, planId, billingAnchor: billingAnchor == null ? null : Date.parse(billingAnchor) };
    }
    case "SubscriptionPlanChanged":
      // The anchor is set once, when the subscription starts; a plan change keeps it.
      return terms === null ? null : { ...terms, planId: event.data.toPlanId };
    default:
      return terms;
  }
}

export function evolveCustomerLink(link: CustomerLink | null, event: ConsumerEvent): CustomerLink | null {
  switch (event.type) {
    case "ConsumerRegistered":
      return { consumerId: event.data.consumerId, stripeCustomerId: event.data.labels[stripeCustomerLabel] ?? null };
    case "ConsumerUpdated": {
      const labels = event.data.changes.labels;
      if (labels === undefined) return link;
      return { consumerId: event.data.consumerId, stripeCustomerId: labels[stripeCustomerLabel] ?? null };
    }
  }
}

/** What one billable request adds to its subscription's usage; null when it bills nothing. */
export interface BilledRequest {
  readonly subscriptionId: string;
  readonly planId: string;
  readonly meterEventName: string;
  readonly periodStart: number;
  readonly periodEnd: number;
  readonly at: number;
  readonly position: bigint;
}

export function billRequest(
  event: RequestEvent,
  position: bigint,
  plan: PlanBilling | null,
  subscription: SubscriptionBilling | null,
  rules: BillingRules,
): BilledRequest | null {
  const { subscriptionId } = event.data;
  if (subscriptionId === null || plan === null || plan.meterEventName === null) return null;
  if (!isBillable(event, rules)) return null;
  const at = Date.parse(event.data.startedAt);
  // The period the request happened in, never the one it is reported in.
  const period = billingPeriod(at, subscription?.billingAnchor ?? null);
  return { subscriptionId, planId: plan.planId, meterEventName: plan.meterEventName, periodStart: period.start, periodEnd: period.end, at, position };
}

export function evolveUsage(usage: UsageAggregate | null, billed: BilledRequest): UsageAggregate {
  return {
    subscriptionId: billed.subscriptionId,
    meterEventName: billed.meterEventName,
    periodStart: billed.periodStart,
    periodEnd: billed.periodEnd,
    planId: billed.planId,
    units: (usage?.units ?? 0) + 1,
    throughPosition: usage === null || billed.position > usage.throughPosition ? billed.position : usage.throughPosition,
    lastEventAt: Math.max(usage?.lastEventAt ?? Number.MIN_SAFE_INTEGER, billed.at),
  };
}

export function usageKey(subscriptionId: string, meterEventName: string, periodStart: number): string {
  return `${subscriptionId}|${meterEventName}|${periodStart}`;
}

/** Where `aggregateBatch` reads documents the batch has not changed yet. */
export interface BillingReader {
  plan(planId: string): PlanBilling | null;
  subscription(subscriptionId: string): SubscriptionBilling | null;
  customer(consumerId: string): CustomerLink | null;
  usage(subscriptionId: string, meterEventName: string, periodStart: number): UsageAggregate | null;
}

/** The documents a batch changed, in their new state. */
export interface BillingChanges {
  readonly plans: Map<string, PlanBilling>;
  readonly subscriptions: Map<string, SubscriptionBilling>;
  readonly customers: Map<string, CustomerLink>;
  readonly usage: Map<string, UsageAggregate>;
}

export interface PositionedEvent {
  readonly position: bigint;
  readonly event: TollgateEvent;
}

/**
 * Folds a batch, in log order, over the documents it touches. Reads go to the batch's
 * own changes first, then to `read`; nothing is written. The caller stores the changes
 * and the batch's checkpoint in one transaction.
 */
export function aggregateBatch(events: readonly PositionedEvent[], read: BillingReader, rulesFor: (planId: string | null) => BillingRules): BillingChanges {
  const changes: BillingChanges = { plans: new Map(), subscriptions: new Map(), customers: new Map(), usage: new Map() };
  const planOf = (planId: string): PlanBilling | null => changes.plans.get(planId) ?? read.plan(planId);
  const subscriptionOf = (subscriptionId: string): SubscriptionBilling | null => changes.subscriptions.get(subscriptionId) ?? read.subscription(subscriptionId);
  const customerOf = (consumerId: string): CustomerLink | null => changes.customers.get(consumerId) ?? read.customer(consumerId);

  for (const { position, event } of events) {
    switch (event.type) {
      case "PlanCreated":
      case "PlanUpdated":
      case "PlanArchived": {
        const next = evolvePlanBilling(planOf(event.data.planId), event);
        if (next !== null) changes.plans.set(next.planId, next);
        break;
      }
      case "SubscriptionStarted":
      case "SubscriptionPlanChanged":
      case "SubscriptionSuspended":
      case "SubscriptionReactivated":
      case "SubscriptionCancelled": {
        const next = evolveSubscriptionBilling(subscriptionOf(event.data.subscriptionId), event);
        if (next !== null) changes.subscriptions.set(next.subscriptionId, next);
        break;
      }
      case "ConsumerRegistered":
      case "ConsumerUpdated": {
        const next = evolveCustomerLink(customerOf(event.data.consumerId), event);
        if (next !== null) changes.customers.set(next.consumerId, next);
        break;
      }
      case "RequestCompleted":
      case "RequestRejected":
      case "RequestFailed": {
        const { subscriptionId } = event.data;
        if (subscriptionId === null) break;
        const subscription = subscriptionOf(subscriptionId);
        const planId = event.data.planId ?? subscription?.planId ?? null;
        const billed = billRequest(event, position, planId === null ? null : planOf(planId), subscription, rulesFor(planId));
        if (billed === null) break;
        const key = usageKey(subscriptionId, billed.meterEventName, billed.periodStart);
        changes.usage.set(key, evolveUsage(changes.usage.get(key) ?? read.usage(subscriptionId, billed.meterEventName, billed.periodStart), billed));
        break;
      }
      default:
        break;
    }
  }
  return changes;
}
