import { PolicyRejection, type PolicyExchange, type PolicyStep } from "../policy-step.js";
import type { PlanLimitsLookup } from "../plan-limits.js";
import type { StoreFailureMode } from "../rate-limit/rate-limit-policy-config.js";
import type { QuotaDecision, QuotaLimiter, QuotaSubject } from "./quota-limiter.js";
import { quotaRejection } from "./quota-problems.js";

/** The subscription's billing anchor, when it has one: quota periods are aligned to it. */
export interface BillingAnchorLookup {
  billingAnchor(subscriptionId: string): number | null;
}

export interface QuotaStepOptions {
  limiter: QuotaLimiter;
  plans: PlanLimitsLookup;
  anchors: BillingAnchorLookup;
  onStoreFailure: StoreFailureMode | undefined;
  /** True when the limiter's store answers with a promise (Redis). */
  async: boolean;
}

/**
 * The quota stage of a route: the request is counted against its subscription's quota
 * for the period containing the request's start (its event's startedAt, so the gateway
 * and the quota projector pick the same period). Requests without a subscription, or
 * whose plan has no quota, pass untouched. Every response of a request that was counted
 * carries the Quota-* headers; a refusal is 429 naming the quota (or 503 when the store
 * is down and the route fails closed).
 */
export function createQuotaStep(options: QuotaStepOptions): PolicyStep {
  const { limiter, plans, anchors } = options;
  const mode = options.onStoreFailure;

  function consume(exchange: PolicyExchange): QuotaDecision | Promise<QuotaDecision> | null {
    const subject = quotaSubjectOf(exchange, plans, anchors);
    if (subject === null) return null;
    const at = exchange.receivedAtMs;
    return limiter.consume(subject, mode === undefined ? { at } : { at, onStoreFailure: mode });
  }

  if (!options.async) {
    return {
      async: false,
      run(exchange) {
        const decision = consume(exchange);
        if (decision === null) return null;
        if (decision instanceof Promise) throw new Error("the quota store answered asynchronously on a route compiled as synchronous");
        return quotaVerdict(exchange, decision);
      },
    };
  }
  return {
    async: true,
    run(exchange) {
      const decision = consume(exchange);
      if (decision === null) return null;
      if (!(decision instanceof Promise)) return quotaVerdict(exchange, decision);
      return decision.then((settled) => quotaVerdict(exchange, settled));
    },
  };
}

/** Whose quota the request draws from: null without a subscription, or on a plan without a quota. */
export function quotaSubjectOf(exchange: PolicyExchange, plans: PlanLimitsLookup, anchors: BillingAnchorLookup): QuotaSubject | null {
  const { subscriptionId, planId } = exchange;
  if (subscriptionId === null || planId === null) return null;
  const quota = plans.plan(planId)?.quota ?? null;
  if (quota === null) return null;
  return { subscriptionId, quota, billingAnchor: anchors.billingAnchor(subscriptionId) };
}

/** Adds the decision's Quota-* headers to the response; the refusal when the quota refused. */
export function quotaVerdict(exchange: PolicyExchange, decision: QuotaDecision): PolicyRejection | null {
  exchange.addResponseHeaders(decision.headers);
  const rejection = quotaRejection(decision);
  if (rejection === null) return null;
  return new PolicyRejection("quota", rejection.problem, rejection.reason, [], rejection.limit, rejection.detail);
}
