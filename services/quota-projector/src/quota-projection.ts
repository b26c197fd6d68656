import { billableUnits, type BillingRules, type BillingRulesOverride, type PlanEvent, type Quota, type QuotaPeriod, quotaWindow, type QuotaWindow, type RequestEvent, type SubscriptionEvent, type TollgateEvent } from "@tollgate/events";

/**
 * The quota projection, as pure functions of (document, event). Three kinds of
 * document, each evolved only by the events that concern it:
 * - a plan's terms (its quota), from PlanCreated / PlanUpdated;
 * - a subscription's terms, from SubscriptionStarted / SubscriptionPlanChanged: its plan,
 *   for request events that carry a subscription but no plan, and its billing anchor,
 *   which its quota periods are aligned to;
 * - a subscription's usage in one period, from its request events.
 *
 * Plan and subscription events sit in the same log as request events, so each request
 * is assessed under the plan as it stood at that point of the log.
 */

export interface PlanTerms {
  readonly planId: string;
  readonly quota: Quota | null;
  /** The plan's own billing rules (PlanDefinition.billing); null: the configured rules alone. */
  readonly billing: BillingRulesOverride | null;
}

/** The rules a request of `planId` is billed by, given the plan's own rules at that point of the log. */
export type BillingRulesResolver = (planId: string | null, planRules: BillingRulesOverride | null) => BillingRules;

/** What the projection needs of a subscription. */
export interface SubscriptionTerms {
  readonly planId: string;
  /** SubscriptionStarted's billingAnchor in epoch ms; null: calendar periods (UTC). */
  readonly billingAnchor: number | null;
}

/** One subscription's usage in one quota period. */
export interface UsageCounts {
  readonly subscriptionId: string;
  /** The plan of the last request counted. */
  readonly planId: string | null;
  readonly period: QuotaPeriod;
  readonly periodStart: number;
  readonly periodEnd: number;
  /** The quota in force at the last request counted; null when the plan has none. */
  readonly quota: Quota | null;
  /** Every request event of the subscription in the period, refused ones included. */
  readonly requests: number;
  /** Requests that got past the gateway's quota stage: each took one unit from the shared counter. */
  readonly admitted: number;
  /**
   * Units the plan bills for the admitted requests (`billableUnits`): 1 per billable request,
   * except a WebSocket session billed per message or per minute, which bills its messages or
   * minutes. `admitted - billable` is what the counter must give back (negative: take more,
   * for sessions that used more than the one unit the gateway took at their handshake).
   */
  readonly billable: number;
}

/** What one request means for its subscription's usage. */
export interface RequestAssessment {
  readonly subscriptionId: string;
  readonly planId: string | null;
  readonly window: QuotaWindow;
  readonly quota: Quota | null;
  readonly admitted: boolean;
  readonly billable: boolean;
  /** `billableUnits(event, rules)`: 0 when not billable. */
  readonly units: number;
}

export const quotaProjectionEventTypes = [
  "RequestCompleted",
  "RequestRejected",
  "RequestFailed",
  "PlanCreated",
  "PlanUpdated",
  "SubscriptionStarted",
  "SubscriptionPlanChanged",
] as const satisfies readonly TollgateEvent["type"][];

export function evolvePlan(plan: PlanTerms | null, event: PlanEvent): PlanTerms | null {
  switch (event.type) {
    case "PlanCreated":
      return { planId: event.data.planId, quota: event.data.quota, billing: event.data.billing ?? null };
    case "PlanUpdated": {
      const { quota, billing } = event.data.changes;
      if (quota === undefined && billing === undefined) return plan;
      return {
        planId: event.data.planId,
        quota: quota === undefined ? (plan?.quota ?? null) : quota,
        billing: billing === undefined ? (plan?.billing ?? null) : billing,
      };
    }
    case "PlanArchived":
      // Existing subscriptions keep their terms until they move to another plan.
      return plan;
  }
}

export function evolveSubscriptionTerms(terms: SubscriptionTerms | null, event: SubscriptionEvent): SubscriptionTerms | null {
  switch (event.type) {
    case "SubscriptionStarted": {
      const { planId, billingAnchor } = event.data;
      return { planId, billingAnchor: billingAnchor == null ? null : Date.parse(billingAnchor) };
    }
    case "SubscriptionPlanChanged":
      // The anchor is set once, when the subscription starts; a plan change keeps it.
      return { planId: event.data.toPlanId, billingAnchor: terms?.billingAnchor ?? null };
    default:
      return terms;
  }
}

/**
 * The quota period a subscription counts in at instant `at`: its plan's quota period, or
 * the month for a plan without a quota, aligned to the subscription's billing anchor when
 * it has one. The gateway counts in the same period (quotaWindow with the same anchor),
 * and the control plane reports usage for it.
 */
export function usageWindow(at: number, plan: PlanTerms | null, subscription: SubscriptionTerms | null): QuotaWindow {
  return quotaWindow(at, plan?.quota?.period ?? "month", subscription?.billingAnchor ?? null);
}

/**
 * Whether the request took a unit from the gateway's quota counter, and how many units
 * its plan bills for it. Null for requests attributed to no subscription.
 *
 * Admitted: the gateway's pipeline runs authentication, authorization, rate limit and
 * quota before anything that can complete or fail a request upstream, so a
 * RequestCompleted was admitted, a RequestRejected was not (every rejection stage comes
 * before or is the quota stage), and a RequestFailed was admitted once it reached the
 * upstream (an attempt was made, or a fallback was served). A client that left before
 * that point was not counted.
 *
 * The period is the one that contains the request's `startedAt`, the instant the
 * gateway counts it at, aligned to the subscription's billing anchor (see usageWindow).
 */
export function assessRequest(
  event: RequestEvent,
  plan: PlanTerms | null,
  subscription: SubscriptionTerms | null,
  rules: BillingRules,
): RequestAssessment | null {
  const { subscriptionId } = event.data;
  if (subscriptionId === null) return null;
  const quota = plan?.quota ?? null;
  const window = usageWindow(Date.parse(event.data.startedAt), plan, subscription);
  const planId = event.data.planId ?? subscription?.planId ?? null;
  // Admitted: it got past the quota stage, so the gateway's counter took a unit for it.
  const admitted = event.type === "RequestCompleted" || (event.type === "RequestFailed" && (event.data.attempts > 0 || event.data.fallbackServed));
  const units = billableUnits(event, rules);
  return { subscriptionId, planId, window, quota, admitted, billable: units > 0, units };
}

export function evolveUsage(usage: UsageCounts | null, request: RequestAssessment): UsageCounts {
  const base: UsageCounts = usage ?? {
    subscriptionId: request.subscriptionId,
    planId: request.planId,
    period: request.window.period,
    periodStart: request.window.start,
    periodEnd: request.window.end,
    quota: request.quota,
    requests: 0,
    admitted: 0,
    billable: 0,
  };
  return {
    ...base,
    planId: request.planId,
    quota: request.quota,
    requests: base.requests + 1,
    admitted: base.admitted + (request.admitted ? 1 : 0),
    billable: base.billable + request.units,
  };
}

/** Where `projectBatch` reads documents the batch has not changed yet. */
export interface ProjectionReader {
  plan(planId: string): PlanTerms | null;
  subscription(subscriptionId: string): SubscriptionTerms | null;
  usage(subscriptionId: string, period: QuotaPeriod, periodStart: number): UsageCounts | null;
}

/** The documents a batch changed, in their new state. */
export interface ProjectionChanges {
  readonly plans: Map<string, PlanTerms>;
  readonly subscriptions: Map<string, SubscriptionTerms>;
  readonly usage: Map<string, UsageCounts>;
}

export function usageKey(subscriptionId: string, period: QuotaPeriod, periodStart: number): string {
  return `${subscriptionId}|${period}|${periodStart}`;
}

/**
 * Folds a batch, in log order, over the documents it touches. Reads go to the batch's
 * own changes first, then to `read`; nothing is written. The caller stores the changes
 * and the batch's checkpoint in one transaction.
 */
export function projectBatch(events: readonly TollgateEvent[], read: ProjectionReader, rulesFor: BillingRulesResolver): ProjectionChanges {
  const changes: ProjectionChanges = { plans: new Map(), subscriptions: new Map(), usage: new Map() };
  const planOf = (planId: string): PlanTerms | null => changes.plans.get(planId) ?? read.plan(planId);
  const subscriptionOf = (subscriptionId: string): SubscriptionTerms | null =>
    changes.subscriptions.get(subscriptionId) ?? read.subscription(subscriptionId);

  for (const event of events) {
    switch (event.type) {
      case "PlanCreated":
      case "PlanUpdated":
      case "PlanArchived": {
        const next = evolvePlan(planOf(event.data.planId), event);
        if (next !== null) changes.plans.set(next.planId, next);
        break;
      }
      case "SubscriptionStarted":
      case "SubscriptionPlanChanged":
      case "SubscriptionSuspended":
      case "SubscriptionReactivated":
      case "SubscriptionCancelled": {
        const { subscriptionId } = event.data;
        const next = evolveSubscriptionTerms(subscriptionOf(subscriptionId), event);
        if (next !== null) changes.subscriptions.set(subscriptionId, next);
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
        const assessment = assessRequest(event, plan, subscription, rulesFor(planId, plan?.billing ?? null));
        if (assessment === null) break;
        const { period, start } = assessment.window;
        const key = usageKey(subscriptionId, period, start);
        changes.usage.set(key, evolveUsage(changes.usage.get(key) ?? read.usage(subscriptionId, period, start), assessment));
        break;
      }
      default:
        break;
    }
  }
  return changes;
}
