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
export const webSocketBillingUnits = ["per-connection", "per-message", "per-minute"] as const;
export type WebSocketBillingUnit = (typeof webSocketBillingUnits)[number];

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
  websocket: z
    .enum(webSocketBillingUnits)
    .default("per-connection")
    .describe("What a proxied WebSocket session bills: one unit per connection, one per message (both directions), or one per started minute"),
});

export type BillingRules = z.infer<typeof BillingRules>;

export const defaultBillingRules: BillingRules = BillingRules.parse({});

/**
 * Some of the rules, to lay over others: a plan's own (PlanDefinition.billing), or a
 * projector config's per-plan override. Unlike `BillingRules.partial()`, which in zod 4
 * still fills in every default and so would silently reset rules the layer below set, a
 * field absent here stays absent.
 */
export const BillingRulesOverride = z.strictObject({
  cacheHits: z.boolean().optional(),
  clientErrors: z.boolean().optional(),
  upstreamServerErrors: z.boolean().optional(),
  gatewayFailures: z.boolean().optional(),
  fallbacks: z.boolean().optional(),
  clientAborts: z.boolean().optional(),
  websocket: z.enum(webSocketBillingUnits).optional(),
});

export type BillingRulesOverride = z.infer<typeof BillingRulesOverride>;

/** `base` with each override laid over it in turn; an absent or null layer changes nothing. */
export function layerBillingRules(base: BillingRules, ...layers: readonly (BillingRulesOverride | null | undefined)[]): BillingRules {
  let rules = base;
  for (const layer of layers) {
    if (layer === null || layer === undefined) continue;
    const next = { ...rules };
    for (const [name, value] of Object.entries(layer) as [keyof BillingRules, never][]) if (value !== undefined) next[name] = value;
    rules = next;
  }
  return rules;
}

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
      // A stale answer (stale-while-revalidate) is served from the cache too: the same rule.
      return byStatus && ((cacheStatus !== "hit" && cacheStatus !== "stale") || rules.cacheHits);
    }
    case "RequestFailed": {
      const { attempts, fallbackServed, error } = event.data;
      const admitted = attempts > 0 || fallbackServed;
      return admitted && (fallbackServed ? rules.fallbacks : error === "client-abort" ? rules.clientAborts : rules.gatewayFailures);
    }
  }
}

/**
 * How many units the plan bills for this request: 0 when it is not billable, else 1,
 * except for a WebSocket session (a RequestCompleted with `websocket`), which bills by
 * `rules.websocket`: 1 per connection; its messages in both directions (a session that
 * carried none bills 0); or each started minute of its duration (at least 1). The
 * session is billed once, when its event is written at close.
 */
export function billableUnits(event: RequestEvent, rules: BillingRules): number {
  if (!isBillable(event, rules)) return 0;
  const session = event.type === "RequestCompleted" ? event.data.websocket : undefined;
  if (session === undefined) return 1;
  switch (rules.websocket) {
    case "per-connection":
      return 1;
    case "per-message":
      return session.messagesFromClient + session.messagesFromUpstream;
    case "per-minute":
      return Math.max(1, Math.ceil(event.data.durationMs / 60_000));
  }
}
