import type { QuotaDecision } from "./quota-limiter.js";

/**
 * Quota headers on every response of a quota-bearing route. Named after the IETF
 * RateLimit-* fields they sit beside, with the same meaning per field, but kept apart so
 * that a client reading RateLimit-* sees the short-window limits it can wait out, not a
 * monthly allowance:
 * - Quota-Limit: requests the period allows;
 * - Quota-Remaining: requests left in the period (0 in overage);
 * - Quota-Reset: delta-seconds until the period ends;
 * - Retry-After on a refusal: the same, since a hard quota frees up only then.
 */
export function quotaHeaders(decision: Omit<QuotaDecision, "headers">): Record<string, string> {
  const headers: Record<string, string> = {
    "quota-limit": String(decision.limit),
    "quota-remaining": String(decision.remaining),
    "quota-reset": String(decision.resetSeconds),
  };
  if (decision.retryAfterSeconds !== null) headers["retry-after"] = String(decision.retryAfterSeconds);
  return headers;
}
