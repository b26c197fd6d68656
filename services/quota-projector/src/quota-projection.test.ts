import { parseEvent, type RequestEvent, type TollgateEvent } from "@tollgate/events";
import { describe, expect, it } from "vitest";
import { BillingRules, defaultBillingRules } from "./billing-rules.js";
import { assessRequest, projectBatch, usageKey, type PlanTerms, type ProjectionReader, type UsageCounts } from "./quota-projection.js";
import { completed, failed, planCreated, planQuotaChanged, rejected, subscriptionPlanChanged, subscriptionStarted } from "./test-support/event-fixtures.js";

const gold: PlanTerms = { planId: "gold", quota: { limit: 500, period: "day", enforcement: "hard" } };

/** Folds events in batches of `batchSize` over an in-memory document store, as a SQLite store would. */
function fold(events: readonly TollgateEvent[], batchSize = events.length, rulesFor = (_planId: string | null) => defaultBillingRules) {
  const plans = new Map<string, PlanTerms>();
  const subscriptionPlans = new Map<string, string>();
  const usage = new Map<string, UsageCounts>();
  const reader: ProjectionReader = {
    plan: (planId) => plans.get(planId) ?? null,
    subscriptionPlan: (subscriptionId) => subscriptionPlans.get(subscriptionId) ?? null,
    usage: (subscriptionId, period, start) => usage.get(usageKey(subscriptionId, period, start)) ?? null,
  };
  for (let at = 0; at < events.length; at += Math.max(1, batchSize)) {
    const changes = projectBatch(events.slice(at, at + batchSize), reader, rulesFor);
    for (const [key, value] of changes.plans) plans.set(key, value);
    for (const [key, value] of changes.subscriptionPlans) subscriptionPlans.set(key, value);
    for (const [key, value] of changes.usage) usage.set(key, value);
  }
  return { plans, subscriptionPlans, usage };
}

describe("assessRequest: what took a unit of quota, and what the plan bills (default rules)", () => {
  const cases: [string, RequestEvent, boolean, boolean][] = [
    ["a 200 from the upstream", completed({}, 200), true, true],
    ["a 404 from the upstream", completed({}, 404), true, true],
    ["a 503 from the upstream", completed({}, 503), true, false],
    ["a cached 200", completed({}, 200, "hit"), true, true],
    ["a request refused by the quota", rejected({}, "quota"), false, false],
    ["a request refused by a rate limit", rejected({}, "rate-limit"), false, false],
    ["an upstream the gateway could not reach (its own 502)", failed({}, "upstream-error"), true, false],
    ["an upstream timeout (its own 504)", failed({}, "timeout"), true, false],
    ["a fallback served after a failure", failed({}, "upstream-error", 1, true), true, false],
    ["a client that left after the request went upstream", failed({}, "client-abort", 1), true, false],
    ["a client that left before the request went upstream", failed({}, "client-abort", 0), false, false],
  ];
  it.each(cases)("%s: admitted %s, billable %s", (_what, event, admitted, billable) => {
    expect(assessRequest(event, gold, null, defaultBillingRules)).toMatchObject({ admitted, billable });
  });

  it("follows the plan's rules: cached responses free, upstream 5xx billed", () => {
    const rules = BillingRules.parse({ cacheHits: false, upstreamServerErrors: true });
    expect(assessRequest(completed({}, 200, "hit"), gold, null, rules)).toMatchObject({ admitted: true, billable: false });
    expect(assessRequest(completed({}, 503), gold, null, rules)).toMatchObject({ admitted: true, billable: true });
  });

  it("puts a request in the quota period of its startedAt, and ignores requests of no subscription", () => {
    const late = assessRequest(completed({ startedAt: "2025-06-15T23:59:59.999Z" }), gold, null, defaultBillingRules)!;
    const early = assessRequest(completed({ startedAt: "2025-06-16T00:00:00.000Z" }), gold, null, defaultBillingRules)!;
    expect(new Date(late.window.start).toISOString()).toBe("2025-06-15T00:00:00.000Z");
    expect(new Date(early.window.start).toISOString()).toBe("2025-06-16T00:00:00.000Z");
    // A plan without a quota is counted by calendar month.
    const monthly = assessRequest(completed(), { planId: "free", quota: null }, null, defaultBillingRules)!;
    expect(monthly.window.period).toBe("month");
    expect(assessRequest(completed({ subscriptionId: null }), gold, null, defaultBillingRules)).toBeNull();
  });
});

describe("projectBatch", () => {
  const log: TollgateEvent[] = [
    planCreated("gold", { limit: 500, period: "day", enforcement: "hard" }),
    subscriptionStarted("sub-1", "gold"),
    completed({ n: 1 }),
    completed({ n: 2 }, 503),
    rejected({ n: 3 }),
    completed({ n: 4, planId: null }),
    planQuotaChanged("gold", { limit: 1_000, period: "day", enforcement: "overage" }),
    completed({ n: 5 }),
    completed({ n: 6, startedAt: "2025-06-16T08:00:00.000Z" }),
    subscriptionPlanChanged("sub-1", "gold", "silver"),
    planCreated("silver", null),
    completed({ n: 7, planId: "silver", startedAt: "2025-06-17T08:00:00.000Z" }),
  ].map((event) => parseEvent(event.type, event.version, event.data));

  it("counts per subscription and period, under the plan as it stood at that point of the log", () => {
    const { usage } = fold(log);
    const june15 = usage.get(usageKey("sub-1", "day", Date.parse("2025-06-15T00:00:00.000Z")))!;
    expect(june15).toMatchObject({ requests: 5, admitted: 4, billable: 3, quota: { limit: 1_000, enforcement: "overage" } });
    const june16 = usage.get(usageKey("sub-1", "day", Date.parse("2025-06-16T00:00:00.000Z")))!;
    expect(june16).toMatchObject({ requests: 1, admitted: 1, billable: 1 });
    // On a plan without a quota the subscription is counted by month.
    const june = usage.get(usageKey("sub-1", "month", Date.parse("2025-06-01T00:00:00.000Z")))!;
    expect(june).toMatchObject({ requests: 1, planId: "silver", quota: null });
    expect(usage.size).toBe(3);
  });

  it("gives the same numbers whatever the batch size: one event at a time, in pairs, or all at once", () => {
    const whole = fold(log).usage;
    for (const size of [1, 2, 5]) expect(fold(log, size).usage).toEqual(whole);
  });

  it("uses the subscription's plan for requests that name none", () => {
    const events = [
      planCreated("gold", { limit: 5, period: "month", enforcement: "hard" }),
      subscriptionStarted("sub-9", "gold"),
      completed({ subscriptionId: "sub-9", planId: null }),
    ].map((event) => parseEvent(event.type, event.version, event.data));
    const [row] = [...fold(events).usage.values()];
    expect(row).toMatchObject({ planId: "gold", period: "month", quota: { limit: 5 } });
  });
});
