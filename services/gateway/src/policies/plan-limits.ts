import type { Quota, RateLimit } from "@tollgate/events";

/** What a plan limits, as the rate limit and quota steps read it from the identity index. */
export interface PlanLimits {
  readonly planId: string;
  readonly rateLimits: readonly RateLimit[];
  readonly quota: Quota | null;
}

/** The identity index, as far as limits go. Answers from memory: it is called on the request path. */
export interface PlanLimitsLookup {
  plan(planId: string): PlanLimits | undefined;
}
