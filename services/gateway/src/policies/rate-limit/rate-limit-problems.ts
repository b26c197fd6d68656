import type { ProblemType } from "../../errors/problem-catalog.js";
import type { RateLimitDecision } from "./multi-limiter.js";

/** The rate limit policy's problem types (RFC 9457), `urn:tollgate:problem:<code>`. */
export const rateLimitProblems = {
  rateLimited: { code: "rate-limited", status: 429, title: "Rate limit exceeded", retryable: true },
  rateLimitUnavailable: { code: "rate-limit-unavailable", status: 503, title: "Rate limiting is unavailable", retryable: true },
} as const satisfies Record<string, ProblemType>;

/** How to answer and record a refused request. */
export interface RateLimitRejection {
  problem: ProblemType;
  /** For the client: names the limit, its size and when to retry. */
  detail: string;
  /** RequestRejected.reason. */
  reason: string;
  /** RequestRejected.limit: the limit that fired; null when the store was unavailable. */
  limit: string | null;
}

/** The 429 (or 503) for a decision that did not admit the request; null when it did. */
export function rateLimitRejection(decision: RateLimitDecision): RateLimitRejection | null {
  if (decision.allowed) return null;
  const retry = decision.retryAfterSeconds ?? 1;
  if (decision.outcome === "unavailable") {
    return {
      problem: rateLimitProblems.rateLimitUnavailable,
      detail: `Rate limits cannot be checked right now and this route does not admit requests unchecked; retry after ${retry} s.`,
      reason: "rate limit store unavailable (route fails closed)",
      limit: null,
    };
  }
  const fired = decision.reports.find((report) => report.name === decision.limit);
  const size = fired ? ` (${fired.limit} requests per ${fired.windowSeconds} s)` : "";
  const others = decision.rejectedBy.filter((name) => name !== decision.limit);
  const also = others.length > 0 ? `; also exceeded: ${others.map((name) => `"${name}"`).join(", ")}` : "";
  return {
    problem: rateLimitProblems.rateLimited,
    detail: `Rate limit "${decision.limit ?? "?"}"${size} exceeded${also}; retry after ${retry} s.`,
    reason: `rate limit "${decision.limit ?? "?"}" exceeded${decision.decidedBy === "insurance" ? " (decided in memory: store unavailable)" : ""}`,
    limit: decision.limit,
  };
}
