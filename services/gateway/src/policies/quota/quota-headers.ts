/**
 * Quota headers on every response of a quota-bearing route. Named after the IETF
 * RateLimit-* fields they sit beside, with the same meaning per field, but kept apart so
 * that a client reading RateLimit-* sees the short-window limits it can wait out, not a
 * monthly allowance:
 * - Quota-Limit: requests the period allows;
 * - Quota-Remaining: requests left in the period (0 in overage);
 * - Quota-Reset: delta-seconds until the period ends;
 * - Retry-After on a refusal: the same, since a hard quota frees up only then.
 *
 * From the decision's fields rather than the decision, which is built with its headers
 * in one object: the decision is made on every request.
 */
export function quotaHeaders(limit: number, remaining: number, resetSeconds: number, retryAfterSeconds: number | null): Record<string, string> {
  const headers: Record<string, string> = {
    "quota-limit": String(limit),
    "quota-remaining": String(remaining),
    "quota-reset": String(resetSeconds),
  };
  if (retryAfterSeconds !== null) headers["retry-after"] = String(retryAfterSeconds);
  return headers;
}
