import type { RequestEvent } from "./request-events.js";
import { z } from "zod";

/**
 * What a plan bills, request by request. One definition for the quota projector (the
 * quota a request used) and the billing projector (the bill it produced), so the two
 * never disagree.
 *
 * Whatever the rules, a request counts at most once: retries inside the gateway are one
 * request, and only requests that got past the gateway's quota stage can count (those
 * refused by authentication, a rate limit or the quota itself never do).
 */
export const BillingRules = z.strictObject({
  cacheHits: z.boolean().default(true).describe("A response served from the gateway's cache counts"),
  clientErrors: z.boolean().default(true).describe("A 4xx response from the upstream counts (the client's mistake, the upstream's work)"),
  upstreamServerErrors: z.boolean().default(false).describe("A 5xx response from the upstream counts"),
  gatewayFailures: z
    .boolean()
    .default(false)
    .describe("A request the gateway failed (upstream unreachable, timeout, circuit open: its own 502/503/504) counts"),
  fallbacks: z.boolean().default(false).describe("A failed request answered with a configured fallback response counts"),
  clientAborts: z.boolean().default(false).describe("A request whose client went away after it reached the upstream counts"),
});

export type BillingRules = z.infer<typeof BillingRules>;

export const defaultBillingRules: BillingRules = BillingRules.parse({});

/**
 * Whether the plan bills this request. A RequestRejected never counts (every rejection
 * stage comes before or is the quota stage); a RequestCompleted counts by its status and
 * cache status; a RequestFailed counts only when it reached the upstream (or served a
 * fallback) and the rule for its kind of failure says so.
 */
export function isBillable(event: RequestEvent, rules: BillingRules): boolean {
  switch (event.type) {
    case "RequestRejected":
      return false;
    case "RequestCompleted": {
      const { status, cacheStatus } = event.data;
      const byStatus = status >= 500 ? rules.upstreamServerErrors : status >= 400 ? rules.clientErrors : true;
      return byStatus && (cacheStatus !== "hit" || rules.cacheHits);
    }
    case "RequestFailed": {
      const { attempts, fallbackServed, error } = event.data;
      const admitted = attempts > 0 || fallbackServed;
      return admitted && (fallbackServed ? rules.fallbacks : error === "client-abort" ? rules.clientAborts : rules.gatewayFailures);
    }
  }
}
