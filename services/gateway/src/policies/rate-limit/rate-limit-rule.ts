import type { RateLimit, RateLimitAlgorithm } from "@tollgate/events";

/**
 * Whose requests a limit counts together:
 * - plan: every consumer of the plan shares one allowance;
 * - consumer: each consumer has its own (the default for plan limits);
 * - route: every caller of the route shares one allowance (protects the upstream);
 * - consumer-route: each consumer has its own on each route;
 * - ip: each client IP has its own (for anonymous routes).
 */
export const rateLimitScopes = ["plan", "consumer", "route", "consumer-route", "ip"] as const;
export type RateLimitScope = (typeof rateLimitScopes)[number];

/** One limit as the policy applies it. */
export interface RateLimitRule {
  /**
   * Where the rule comes from, so that two plans' limits of the same name never share a
   * counter: `plan/<planId>` for plan limits, `route/<routeId>` for route limits.
   */
  readonly source: string;
  /** Named in 429 responses, in RequestRejected.limit and in metrics. */
  readonly name: string;
  readonly points: number;
  readonly windowSeconds: number;
  readonly algorithm: RateLimitAlgorithm;
  readonly scope: RateLimitScope;
}

/** Who is asking, as far as keys need it. Known once authentication has run. */
export interface RateLimitSubject {
  readonly routeId: string;
  readonly clientIp: string;
  /** Null for anonymous requests. */
  readonly consumerId: string | null;
  readonly planId: string | null;
}

/** The limits a plan defines (its `rateLimits`), as rules of the given scope. */
export function planRateLimitRules(planId: string, rateLimits: readonly RateLimit[], scope: RateLimitScope = "consumer"): RateLimitRule[] {
  return rateLimits.map((limit) => ({ source: `plan/${planId}`, scope, ...limit }));
}

/**
 * The counter a rule uses for a subject. The algorithm and window are part of the key,
 * so changing a limit's shape starts a fresh counter instead of misreading the old
 * state. A scope that needs a consumer falls back to the client IP when the request is
 * anonymous, so an unauthenticated caller is still limited, just per address.
 *
 * Ids are EntityIds (no `|`), and `|` separates the parts, so keys cannot collide.
 */
export function rateLimitKey(prefix: string, rule: RateLimitRule, subject: RateLimitSubject): string {
  return `${prefix}${rule.source}|${rule.name}|${rule.algorithm}|${rule.windowSeconds}|${scopeKey(rule.scope, subject)}`;
}

function scopeKey(scope: RateLimitScope, subject: RateLimitSubject): string {
  const consumer = subject.consumerId;
  switch (scope) {
    case "plan":
      return subject.planId === null ? `ip=${subject.clientIp}` : `plan=${subject.planId}`;
    case "consumer":
      return consumer === null ? `ip=${subject.clientIp}` : `consumer=${consumer}`;
    case "route":
      return `route=${subject.routeId}`;
    case "consumer-route":
      return `${consumer === null ? `ip=${subject.clientIp}` : `consumer=${consumer}`}|route=${subject.routeId}`;
    case "ip":
      return `ip=${subject.clientIp}`;
  }
}

/** A route's own limits (its `rateLimit.limits`), as rules. */
export function routeRateLimitRules(
  routeId: string,
  limits: readonly { name: string; points: number; windowSeconds: number; algorithm: RateLimitAlgorithm; scope: RateLimitScope }[],
): RateLimitRule[] {
  return limits.map((limit) => ({ source: `route/${routeId}`, ...limit }));
}
