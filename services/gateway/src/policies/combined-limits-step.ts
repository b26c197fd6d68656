import type { StoreFailureMode } from "./rate-limit/rate-limit-policy-config.js";
import type { PolicyExchange, PolicyRejection, PolicyStep } from "./policy-step.js";
import type { PlanLimitsLookup } from "./plan-limits.js";
import { PreparedQuota, type QuotaLimiter } from "./quota/quota-limiter.js";
import { quotaSubjectOf, quotaVerdict, type BillingAnchorLookup } from "./quota/quota-step.js";
import { PreparedLimits, type MultiLimiter, type RateLimitDecision } from "./rate-limit/multi-limiter.js";
import type { RouteRateLimitConfig } from "./rate-limit/rate-limit-policy-config.js";
import { rateLimitRulesOf, rateLimitVerdict } from "./rate-limit/rate-limit-step.js";
import type { RedisLimiterStore } from "./rate-limit/redis-limiter-store.js";

export interface CombinedLimitsStepOptions {
  routeId: string;
  rateLimit: RouteRateLimitConfig | undefined;
  rateLimiter: MultiLimiter;
  quotaLimiter: QuotaLimiter;
  /** The Redis store both limiters use. */
  store: RedisLimiterStore;
  plans: PlanLimitsLookup;
  anchors: BillingAnchorLookup;
  onQuotaStoreFailure: StoreFailureMode | undefined;
}

/**
 * The rate limit and quota stages of a route whose counters share one Redis, in one
 * script call per request instead of two round trips (the Redis arm of the policy
 * benchmark paid 2 EVALSHA writes, replies and timers per request).
 *
 * It decides exactly what the rate limit step followed by the quota step decides: the
 * script commits the rate limits only if all of them allow the request, and counts the
 * quota only after that, so a request a limit refuses takes no unit of the quota, and
 * one the quota refuses has counted against the rate limits. The limiters keep their
 * own bookkeeping (outages, insurance, metrics, headers) through prepare, settle and
 * fail. When either store is known to be down, or the request has only one of the two,
 * it falls back to the two calls in order.
 */
export function createCombinedLimitsStep(options: CombinedLimitsStepOptions): PolicyStep {
  const { routeId, rateLimiter, quotaLimiter, store, plans, anchors } = options;
  const rules = rateLimitRulesOf({ routeId, config: options.rateLimit, plans });
  const quotaMode = options.onQuotaStoreFailure;

  function quotaStage(exchange: PolicyExchange): PolicyRejection | null | Promise<PolicyRejection | null> {
    const subject = quotaSubjectOf(exchange, plans, anchors);
    if (subject === null) return null;
    const at = exchange.receivedAtMs;
    const decision = quotaLimiter.consume(subject, quotaMode === undefined ? { at } : { at, onStoreFailure: quotaMode });
    if (!(decision instanceof Promise)) return quotaVerdict(exchange, decision);
    return decision.then((settled) => quotaVerdict(exchange, settled));
  }

  function afterRateLimit(exchange: PolicyExchange, decision: RateLimitDecision): PolicyRejection | null | Promise<PolicyRejection | null> {
    const rejection = rateLimitVerdict(exchange, decision);
    return rejection !== null ? rejection : quotaStage(exchange);
  }

  return {
    async: true,
    run(exchange) {
      const ruleList = rules === null ? [] : rules.rulesFor(exchange.planId);
      if (ruleList.length === 0) return quotaStage(exchange);
      const subject = { routeId, clientIp: exchange.clientIp, consumerId: exchange.consumerId, planId: exchange.planId };
      const limits = rateLimiter.prepare(ruleList, subject, rules?.decideOptions);
      if (!(limits instanceof PreparedLimits)) return afterRateLimit(exchange, limits);
      const quotaSubject = quotaSubjectOf(exchange, plans, anchors);
      const at = exchange.receivedAtMs;
      // Only a quota the store can be asked about joins the call: while the quota store is
      // known to be down, preparing it would already count the request in memory.
      const quota =
        quotaSubject === null || quotaLimiter.storeKnownDown() ? null : quotaLimiter.prepare(quotaSubject, quotaMode === undefined ? { at } : { at, onStoreFailure: quotaMode });
      if (!(quota instanceof PreparedQuota)) {
        return store.consume(limits.checks, limits.cost).then(
          (verdicts) => afterRateLimit(exchange, rateLimiter.settle(limits, verdicts)),
          (error: unknown) => afterRateLimit(exchange, rateLimiter.fail(limits, error)),
        );
      }
      const { subject: quotaOf } = quota;
      const check = { key: quota.key, limit: quotaOf.quota.limit, enforcement: quotaOf.quota.enforcement, ttlMs: quota.expiresAt - quotaLimiter.now() };
      return store.consumeWithQuota(limits.checks, limits.cost, check).then(
        (answer) => {
          const rejection = rateLimitVerdict(exchange, rateLimiter.settle(limits, answer.verdicts));
          if (rejection !== null) return rejection;
          if (answer.quota === null) throw new Error("the limits script skipped the quota of a request every rate limit allowed");
          return quotaVerdict(exchange, quotaLimiter.settle(quota, answer.quota));
        },
        (error: unknown) => {
          const rejection = rateLimitVerdict(exchange, rateLimiter.fail(limits, error));
          if (rejection !== null) return rejection;
          return quotaVerdict(exchange, quotaLimiter.fail(quota, error));
        },
      );
    },
  };
}
