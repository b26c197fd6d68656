import { z } from "zod";

/**
 * What a plan bills, request by request. Every field has a default, and a plan can
 * override any of them in the projector's config (`billing.plans.<planId>`).
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
