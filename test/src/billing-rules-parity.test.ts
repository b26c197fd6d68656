import * as billing from "@tollgate/billing-projector";
import type { RequestEvent } from "@tollgate/events";
import * as quota from "@tollgate/quota-projector";
import { describe, expect, it } from "vitest";

/**
 * The billing projector holds a copy of the quota projector's billing rules (services do
 * not import one another). This pins the copy: the same defaults, and the same verdict
 * for every kind of request under every combination of rules.
 */

const base = {
  requestId: "req-1",
  gatewayId: "gw-1",
  startedAt: "2025-06-15T12:00:00.000Z",
  durationMs: 3,
  routeId: "orders",
  method: "GET",
  path: "/orders",
  routeTemplate: "/orders",
  clientIp: "203.0.113.7",
  bytesIn: 0,
  bytesOut: 10,
  controlPlaneVersion: null,
  consumerId: "c-1",
  credentialId: "k-1",
  planId: "gold",
  subscriptionId: "sub-1",
};

const completed = (status: number, cacheStatus: "hit" | "miss" | "bypass" | "none"): RequestEvent => ({
  type: "RequestCompleted",
  version: 1,
  data: { ...base, status, upstream: "http://127.0.0.1:9", attempts: 1, upstreamLatencyMs: 1, cacheStatus },
});
const failed = (error: "upstream-error" | "timeout" | "circuit-open" | "client-abort", attempts: number, fallbackServed: boolean): RequestEvent => ({
  type: "RequestFailed",
  version: 1,
  data: { ...base, status: 502, upstream: null, attempts, error, detail: "x", fallbackServed },
});

const events: RequestEvent[] = [
  ...[200, 204, 301, 404, 429, 500, 503].flatMap((status) => (["hit", "miss", "bypass", "none"] as const).map((cache) => completed(status, cache))),
  ...(["upstream-error", "timeout", "circuit-open", "client-abort"] as const).flatMap((error) => [0, 1, 3].flatMap((attempts) => [true, false].map((fallback) => failed(error, attempts, fallback)))),
  ...(["auth", "rate-limit", "quota"] as const).map((stage): RequestEvent => ({ type: "RequestRejected", version: 1, data: { ...base, status: 429, stage, reason: "x", limit: null } })),
];

const ruleNames = ["cacheHits", "clientErrors", "upstreamServerErrors", "gatewayFailures", "fallbacks", "clientAborts"] as const;

describe("billing rules: the billing projector's copy equals the quota projector's", () => {
  it("has the same defaults", () => {
    expect(billing.defaultBillingRules).toEqual(quota.defaultBillingRules);
    expect(Object.keys(billing.BillingRules.shape).sort()).toEqual(Object.keys(quota.BillingRules.shape).sort());
  });

  it("bills the same requests under every combination of rules", () => {
    let compared = 0;
    for (let mask = 0; mask < 2 ** ruleNames.length; mask++) {
      const rules = Object.fromEntries(ruleNames.map((name, bit) => [name, (mask & (1 << bit)) !== 0])) as billing.BillingRules;
      for (const event of events) {
        const expected = quota.assessRequest(event, null, null, rules)?.billable;
        expect([event.type, event.data.status, billing.isBillable(event, rules)]).toEqual([event.type, event.data.status, expected]);
        compared += 1;
      }
    }
    expect(compared).toBe(64 * events.length);
  });
});
