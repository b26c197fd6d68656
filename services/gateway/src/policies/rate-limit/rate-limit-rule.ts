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
  const heads = keyHeadsOf(prefix, rule);
  const consumer = subject.consumerId;
  switch (rule.scope) {
    case "plan":
      return subject.planId === null ? heads.ip + subject.clientIp : heads.plan + subject.planId;
    case "consumer":
      return consumer === null ? heads.ip + subject.clientIp : heads.consumer + consumer;
    case "route":
      return heads.route + subject.routeId;
    case "consumer-route":
      return (consumer === null ? heads.ip + subject.clientIp : heads.consumer + consumer) + "|route=" + subject.routeId;
    case "ip":
      return heads.ip + subject.clientIp;
  }
}

/** A rule's key up to the subject's id, per kind of id. */
interface KeyHeads {
  readonly prefix: string;
  readonly plan: string;
  readonly consumer: string;
  readonly route: string;
  readonly ip: string;
}

/**
 * The parts of a rule's keys that do not depend on the request, joined once per rule
 * (rules are compiled once per plan or route): every request builds its keys, and a
 * key built from all its parts each time cost several intermediate strings.
 */
const keyHeads = new WeakMap<RateLimitRule, KeyHeads>();

function keyHeadsOf(prefix: string, rule: RateLimitRule): KeyHeads {
  let heads = keyHeads.get(rule);
  if (heads === undefined || heads.prefix !== prefix) {
    const head = `${prefix}${rule.source}|${rule.name}|${rule.algorithm}|${rule.windowSeconds}|`;
    heads = { prefix, plan: `${head}plan=`, consumer: `${head}consumer=`, route: `${head}route=`, ip: `${head}ip=` };
    keyHeads.set(rule, heads);
  }
  return heads;
}

/** A route's own limits (its `rateLimit.limits`), as rules. */
export function routeRateLimitRules(
  routeId: string,
  limits: readonly { name: string; points: number; windowSeconds: number; algorithm: RateLimitAlgorithm; scope: RateLimitScope }[],
): RateLimitRule[] {
  return limits.map((limit) => ({ source: `route/${routeId}`, ...limit }));
}
