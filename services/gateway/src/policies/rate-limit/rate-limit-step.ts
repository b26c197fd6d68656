import { PolicyRejection, type PolicyExchange, type PolicyStep } from "../policy-step.js";
import type { PlanLimits, PlanLimitsLookup } from "../plan-limits.js";
import type { MultiLimiter, RateLimitDecision } from "./multi-limiter.js";
import type { RouteRateLimitConfig, StoreFailureMode } from "./rate-limit-policy-config.js";
import { rateLimitRejection } from "./rate-limit-problems.js";
import { planRateLimitRules, routeRateLimitRules, type RateLimitRule } from "./rate-limit-rule.js";

export interface RateLimitStepOptions {
  routeId: string;
  /** The route's own limits and choices; absent: only the caller's plan limits apply. */
  config: RouteRateLimitConfig | undefined;
  limiter: MultiLimiter;
  /** Plans by id, for the caller's plan limits; null on a route without authentication. */
  plans: PlanLimitsLookup | null;
  /** True when the limiter's store answers with a promise (Redis). */
  async: boolean;
}

/**
 * The rate limit stage of a route: the route's own limits plus the limits of the
 * caller's plan (once authorization has picked the subscription), all decided together
 * by the MultiLimiter, so a request refused by any limit consumes none of them.
 *
 * The rule list of each plan is built once per plan version and kept in a WeakMap keyed
 * by the identity index's plan entry, which is replaced whenever the plan changes: a
 * changed plan gets new rules on its next request, and an old entry's rules are
 * collected with it. Returns null when the route can have no limit at all.
 */
export function createRateLimitStep(options: RateLimitStepOptions): PolicyStep | null {
  const { routeId, limiter } = options;
  const rules = rateLimitRulesOf(options);
  if (rules === null) return null;
  const { rulesFor, decideOptions } = rules;

  function decide(exchange: PolicyExchange): RateLimitDecision | Promise<RateLimitDecision> | null {
    const rules = rulesFor(exchange.planId);
    if (rules.length === 0) return null;
    const subject = { routeId, clientIp: exchange.clientIp, consumerId: exchange.consumerId, planId: exchange.planId };
    return limiter.decide(rules, subject, decideOptions);
  }

  if (!options.async) {
    return {
      async: false,
      run(exchange) {
        const decision = decide(exchange);
        if (decision === null) return null;
        if (decision instanceof Promise) throw new Error("the rate limit store answered asynchronously on a route compiled as synchronous");
        return rateLimitVerdict(exchange, decision);
      },
    };
  }
  return {
    async: true,
    run(exchange) {
      const decision = decide(exchange);
      if (decision === null) return null;
      if (!(decision instanceof Promise)) return rateLimitVerdict(exchange, decision);
      return decision.then((settled) => rateLimitVerdict(exchange, settled));
    },
  };
}

/** A route's rate limit rules for a caller's plan, and the route's decide options. */
export interface RateLimitRules {
  rulesFor(this: void, planId: string | null): readonly RateLimitRule[];
  readonly decideOptions: { onStoreFailure?: StoreFailureMode };
}

/** The rule lists of a route, per plan (see createRateLimitStep); null when the route can have no limit at all. */
export function rateLimitRulesOf(options: Pick<RateLimitStepOptions, "routeId" | "config" | "plans">): RateLimitRules | null {
  const { routeId, plans } = options;
  const routeRules = routeRateLimitRules(routeId, options.config?.limits ?? []);
  if (routeRules.length === 0 && plans === null) return null;
  const planScope = options.config?.planLimitScope ?? "consumer";
  const decideOptions: { onStoreFailure?: StoreFailureMode } = {};
  if (options.config?.onStoreFailure !== undefined) decideOptions.onStoreFailure = options.config.onStoreFailure;
  const rulesByPlan = new WeakMap<PlanLimits, readonly RateLimitRule[]>();
  return {
    decideOptions,
    rulesFor(planId) {
      if (planId === null || plans === null) return routeRules;
      const plan = plans.plan(planId);
      if (plan === undefined || plan.rateLimits.length === 0) return routeRules;
      let rules = rulesByPlan.get(plan);
      if (rules === undefined) {
        rules = [...routeRules, ...planRateLimitRules(plan.planId, plan.rateLimits, planScope)];
        rulesByPlan.set(plan, rules);
      }
      return rules;
    },
  };
}

/** Adds the decision's RateLimit-* headers to the response; the refusal when a limit refused. */
export function rateLimitVerdict(exchange: PolicyExchange, decision: RateLimitDecision): PolicyRejection | null {
  exchange.addResponseHeaders(decision.headers);
  const rejection = rateLimitRejection(decision);
  if (rejection === null) return null;
  return new PolicyRejection("rate-limit", rejection.problem, rejection.reason, [], rejection.limit, rejection.detail);
}
