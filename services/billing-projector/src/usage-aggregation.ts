import {
  type BillingPeriodClosed,
  type BillingRules,
  type BillingRulesOverride,
  billableUnits,
  type ConsumerEvent,
  type PlanEvent,
  type PlanPricing,
  type RequestEvent,
  type SubscriptionEvent,
  type TollgateEvent,
} from "@tollgate/events";
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
 * A request bills `billableUnits(event, rules)` units: 1, or for a WebSocket session (one
 * event, written at its close) what the plan's `websocket` rule says (messages, started
 * minutes). A request of 0 units is not billed at all.
 *
 * A usage document also records `throughPosition`, the log position of the last billable
 * request it counted. Its `units` are a function of the log up to that position only,
 * which is what lets the reporter bill contiguous position ranges (usage-report.ts).
 *
 * Period close and late events: a BillingPeriodClosed in the log closes a subscription's
 * periods up to its `periodEnd` (`closedThrough`). A billable request logged after it
 * whose startedAt lies in a closed period is late: it is counted in an adjustment document
 * of the first open period (`originPeriodStart` = the closed period it happened in), never
 * in the closed period. Whether a request is late depends on log order only, so a replay
 * decides it the same way.
 */

/** The consumer label that names a consumer's Stripe customer (until customers are created by the billing service itself). */
export const stripeCustomerLabel = "stripeCustomerId";

export interface PlanBilling {
  readonly planId: string;
  /** The Stripe billing meter's event_name; null: the plan is not metered, and its requests are not billed. */
  readonly meterEventName: string | null;
  readonly stripePriceId: string | null;
  readonly pricing: PlanPricing | null;
  /** The plan's own billing rules (PlanDefinition.billing); null: the configured rules alone. */
  readonly billing: BillingRulesOverride | null;
}

/** The rules a request of `planId` is billed by, given the plan's own rules at that point of the log (as the quota projector's). */
export type BillingRulesResolver = (planId: string | null, planRules: BillingRulesOverride | null) => BillingRules;

export interface SubscriptionBilling {
  readonly subscriptionId: string;
  readonly consumerId: string;
  readonly planId: string;
  /** Epoch ms; null: calendar months (UTC). */
  readonly billingAnchor: number | null;
  /** End (epoch ms) of the last closed period: every period ending at or before it is closed; null: none closed yet. */
  readonly closedThrough: number | null;
}

export interface CustomerLink {
  readonly consumerId: string;
  readonly stripeCustomerId: string | null;
}

/**
 * One subscription's billable usage on one meter in one service period. A regular document
 * has `originPeriodStart === periodStart`; an adjustment document holds the late requests of
 * the closed period `originPeriodStart` that were billed in the open period `periodStart`.
 */
export interface UsageAggregate {
  readonly subscriptionId: string;
  readonly meterEventName: string;
  readonly periodStart: number;
  readonly periodEnd: number;
  readonly originPeriodStart: number;
  readonly originPeriodEnd: number;
  /** The plan of the last request counted. */
  readonly planId: string | null;
  readonly units: number;
  /** Log position of the last billable request counted. */
  readonly throughPosition: bigint;
  /** Latest startedAt (epoch ms) among the requests counted, inside the period: the meter event's natural timestamp (an adjustment: at least periodStart). */
  readonly lastEventAt: number;
  /** The plan's pricing in force at the last request counted: what an old period is rated with, whatever the plan charges now. */
  readonly pricing: PlanPricing | null;
}

/** Whether a usage document is an adjustment (late usage of a closed period). */
export function isAdjustment(usage: Pick<UsageAggregate, "periodStart" | "originPeriodStart">): boolean {
  return usage.originPeriodStart !== usage.periodStart;
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
  "BillingPeriodClosed",
] as const satisfies readonly TollgateEvent["type"][];

export function evolvePlanBilling(plan: PlanBilling | null, event: PlanEvent): PlanBilling | null {
  switch (event.type) {
    case "PlanCreated": {
      const { planId, price, pricing, billing } = event.data;
      return { planId, meterEventName: price.stripeMeterEventName, stripePriceId: price.stripePriceId, pricing: pricing ?? null, billing: billing ?? null };
    }
    case "PlanUpdated": {
      if (plan === null) return null;
      const { price, pricing, billing } = event.data.changes;
      return {
        ...plan,
        ...(price === undefined ? {} : { meterEventName: price.stripeMeterEventName, stripePriceId: price.stripePriceId }),
        ...(pricing === undefined ? {} : { pricing }),
        ...(billing === undefined ? {} : { billing }),
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
      return { subscriptionId, consumerId, planId, billingAnchor: billingAnchor == null ? null : Date.parse(billingAnchor), closedThrough: terms?.closedThrough ?? null };
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

/** A period closed: periods ending at or before `periodEnd` take no more usage. A close never reopens. */
export function closeSubscriptionPeriod(terms: SubscriptionBilling | null, event: BillingPeriodClosed): SubscriptionBilling | null {
  if (terms === null) return null;
  const end = Date.parse(event.data.periodEnd);
  return terms.closedThrough !== null && terms.closedThrough >= end ? terms : { ...terms, closedThrough: end };
}

/** What one billable request adds to its subscription's usage; null when it bills nothing. */
export interface BilledRequest {
  /** `billableUnits` of the request under its plan's rules: at least 1. */
  readonly units: number;
  readonly subscriptionId: string;
  readonly planId: string;
  readonly meterEventName: string;
  /** The period it is billed in: its own, or, when that one was closed, the first open one. */
  readonly periodStart: number;
  readonly periodEnd: number;
  /** The period it happened in (by startedAt). */
  readonly originPeriodStart: number;
  readonly originPeriodEnd: number;
  readonly pricing: PlanPricing | null;
  readonly at: number;
  readonly position: bigint;
  readonly requestId: string;
  readonly status: number;
  readonly outcome: RequestEvent["type"];
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
  const units = billableUnits(event, rules);
  if (units === 0) return null;
  const at = Date.parse(event.data.startedAt);
  const anchor = subscription?.billingAnchor ?? null;
  // The period the request happened in, never the one it is reported in...
  const origin = billingPeriod(at, anchor);
  // ...unless that period was closed before the request reached the log: then the first open period, as an adjustment.
  const closedThrough = subscription?.closedThrough ?? null;
  const period = closedThrough !== null && origin.end <= closedThrough ? billingPeriod(closedThrough, anchor) : origin;
  return {
    units,
    subscriptionId,
    planId: plan.planId,
    meterEventName: plan.meterEventName,
    periodStart: period.start,
    periodEnd: period.end,
    originPeriodStart: origin.start,
    originPeriodEnd: origin.end,
    pricing: plan.pricing,
    at,
    position,
    requestId: event.data.requestId,
    status: event.data.status,
    outcome: event.type,
  };
}

export function evolveUsage(usage: UsageAggregate | null, billed: BilledRequest): UsageAggregate {
  return {
    subscriptionId: billed.subscriptionId,
    meterEventName: billed.meterEventName,
    periodStart: billed.periodStart,
    periodEnd: billed.periodEnd,
    originPeriodStart: billed.originPeriodStart,
    originPeriodEnd: billed.originPeriodEnd,
    planId: billed.planId,
    units: (usage?.units ?? 0) + billed.units,
    throughPosition: usage === null || billed.position > usage.throughPosition ? billed.position : usage.throughPosition,
    // An adjustment is reported inside the open period, so Stripe counts it there.
    lastEventAt: Math.max(usage?.lastEventAt ?? Number.MIN_SAFE_INTEGER, billed.at, billed.periodStart),
    pricing: billed.pricing,
  };
}

export function usageKey(subscriptionId: string, meterEventName: string, periodStart: number, originPeriodStart: number = periodStart): string {
  return `${subscriptionId}|${meterEventName}|${periodStart}|${originPeriodStart}`;
}

/**
 * A billed request as its receipt row keeps it: `firstUnit` is the number (1-based) of its
 * first unit in its usage document, so it covers units `firstUnit` to `firstUnit + units - 1`
 * (the usage document's units before it, plus one). Invoice lines name unit ranges, and
 * this is what maps a range back to the requests behind it.
 */
export interface ReceiptEntry extends BilledRequest {
  readonly firstUnit: number;
}

/** Where `aggregateBatch` reads documents the batch has not changed yet. */
export interface BillingReader {
  plan(planId: string): PlanBilling | null;
  subscription(subscriptionId: string): SubscriptionBilling | null;
  customer(consumerId: string): CustomerLink | null;
  usage(subscriptionId: string, meterEventName: string, periodStart: number, originPeriodStart: number): UsageAggregate | null;
}

/** The documents a batch changed, in their new state. */
export interface BillingChanges {
  readonly plans: Map<string, PlanBilling>;
  readonly subscriptions: Map<string, SubscriptionBilling>;
  readonly customers: Map<string, CustomerLink>;
  readonly usage: Map<string, UsageAggregate>;
  /** Every billable request of the batch, in log order: the rows behind each invoice line (receipts). */
  readonly requests: ReceiptEntry[];
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
export function aggregateBatch(events: readonly PositionedEvent[], read: BillingReader, rulesFor: BillingRulesResolver): BillingChanges {
  const changes: BillingChanges = { plans: new Map(), subscriptions: new Map(), customers: new Map(), usage: new Map(), requests: [] };
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
      case "BillingPeriodClosed": {
        const next = closeSubscriptionPeriod(subscriptionOf(event.data.subscriptionId), event);
        if (next !== null) changes.subscriptions.set(next.subscriptionId, next);
        break;
      }
      case "RequestCompleted":
      case "RequestRejected":
      case "RequestFailed": {
        const { subscriptionId } = event.data;
        if (subscriptionId === null) break;
        const subscription = subscriptionOf(subscriptionId);
        const planId = event.data.planId ?? subscription?.planId ?? null;
        const plan = planId === null ? null : planOf(planId);
        const billed = billRequest(event, position, plan, subscription, rulesFor(planId, plan?.billing ?? null));
        if (billed === null) break;
        const key = usageKey(subscriptionId, billed.meterEventName, billed.periodStart, billed.originPeriodStart);
        const before = changes.usage.get(key) ?? read.usage(subscriptionId, billed.meterEventName, billed.periodStart, billed.originPeriodStart);
        changes.usage.set(key, evolveUsage(before, billed));
        changes.requests.push({ ...billed, firstUnit: (before?.units ?? 0) + 1 });
        break;
      }
      default:
        break;
    }
  }
  return changes;
}
