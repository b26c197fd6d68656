import type { RateLimitReport } from "./multi-limiter.js";

/**
 * The response headers of the IETF draft "RateLimit header fields for HTTP"
 * (draft-ietf-httpapi-ratelimit-headers, the RateLimit-Limit / -Remaining / -Reset
 * form), plus Retry-After (RFC 9110 10.2.3) on a refusal.
 *
 * With several limits, the three fields describe one of them, as the draft asks: the
 * one that refused the request, or else the one closest to running out (fewest
 * remaining; the longer reset on a tie). RateLimit-Policy lists every limit
 * (`10;w=1, 1000;w=3600`) so a client can see them all. Reset and Retry-After are
 * delta-seconds, rounded up.
 */
export function rateLimitHeaders(reports: readonly RateLimitReport[], fired: RateLimitReport | null, policy: string): Record<string, string> {
  let shown = fired;
  if (shown === null) {
    for (const report of reports) {
      if (
        shown === null ||
        report.remaining < shown.remaining ||
        (report.remaining === shown.remaining && report.resetSeconds > shown.resetSeconds)
      ) {
        shown = report;
      }
    }
  }
  if (shown === null) return {};
  const headers: Record<string, string> = {
    "ratelimit-limit": String(shown.limit),
    "ratelimit-remaining": String(shown.remaining),
    "ratelimit-reset": String(shown.resetSeconds),
    "ratelimit-policy": policy,
  };
  if (fired !== null) headers["retry-after"] = String(fired.retryAfterSeconds);
  return headers;
}

/** The RateLimit-Policy field of `reports`' limits: it depends only on the rules, so the limiter keeps it per rule list. */
export function rateLimitPolicy(reports: readonly RateLimitReport[]): string {
  return reports.map((report) => `${report.limit};w=${report.windowSeconds}`).join(", ");
}
