import type { ProblemType } from "../../errors/problem-catalog.js";
import type { QuotaDecision } from "./quota-limiter.js";

/** The quota policy's problem types (RFC 9457), `urn:tollgate:problem:<code>`. */
export const quotaProblems = {
  quotaExceeded: { code: "quota-exceeded", status: 429, title: "Quota exceeded", retryable: true },
  quotaUnavailable: { code: "quota-unavailable", status: 503, title: "Quota checking is unavailable", retryable: true },
} as const satisfies Record<string, ProblemType>;

export interface QuotaRejection {
  problem: ProblemType;
  detail: string;
  /** RequestRejected.reason. */
  reason: string;
  /** RequestRejected.limit: the quota's name; null when the store was unavailable. */
  limit: string | null;
}

/** The 429 (or 503) for a decision that did not admit the request; null when it did. */
export function quotaRejection(decision: QuotaDecision): QuotaRejection | null {
  if (decision.allowed) return null;
  if (decision.outcome === "unavailable") {
    return {
      problem: quotaProblems.quotaUnavailable,
      detail: `Quotas cannot be checked right now and this route does not admit requests unchecked; retry after ${decision.retryAfterSeconds ?? 1} s.`,
      reason: "quota store unavailable (route fails closed)",
      limit: null,
    };
  }
  const resets = new Date(decision.window.end).toISOString();
  const period = decision.window.period === "day" ? "day" : "month";
  return {
    problem: quotaProblems.quotaExceeded,
    detail: `Quota "${decision.name}" (${decision.limit} requests per ${period}) is used up; it resets at ${resets}.`,
    reason: `quota "${decision.name}" exceeded${decision.decidedBy === "insurance" ? " (decided in memory: store unavailable)" : ""}`,
    limit: decision.name,
  };
}
