import { BillingRules, defaultBillingRules, layerBillingRules, parseEvent, type BillingRulesOverride, type PlanUpdated, type RequestEvent, type TollgateEvent } from "@tollgate/events";
import { describe, expect, it } from "vitest";
import { assessRequest, projectBatch, usageKey, type BillingRulesResolver, type PlanTerms, type ProjectionReader, type SubscriptionTerms, type UsageCounts } from "./quota-projection.js";
import { completed, failed, planCreated, planQuotaChanged, rejected, subscriptionPlanChanged, subscriptionStarted, webSocketSession } from "./test-support/event-fixtures.js";

const gold: PlanTerms = { planId: "gold", quota: { limit: 500, period: "day", enforcement: "hard" }, billing: null };

/** Folds events in batches of `batchSize` over an in-memory document store, as a SQLite store would. */
function fold(events: readonly TollgateEvent[], batchSize = events.length, rulesFor: BillingRulesResolver = () => defaultBillingRules) {
  const plans = new Map<string, PlanTerms>();
  const subscriptions = new Map<string, SubscriptionTerms>();
  const usage = new Map<string, UsageCounts>();
  const reader: ProjectionReader = {
    plan: (planId) => plans.get(planId) ?? null,
    subscription: (subscriptionId) => subscriptions.get(subscriptionId) ?? null,
    usage: (subscriptionId, period, start) => usage.get(usageKey(subscriptionId, period, start)) ?? null,
  };
  for (let at = 0; at < events.length; at += Math.max(1, batchSize)) {
    const changes = projectBatch(events.slice(at, at + batchSize), reader, rulesFor);
    for (const [key, value] of changes.plans) plans.set(key, value);
    for (const [key, value] of changes.subscriptions) subscriptions.set(key, value);
    for (const [key, value] of changes.usage) usage.set(key, value);
  }
  return { plans, subscriptions, usage };
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
    const monthly = assessRequest(completed(), { planId: "free", quota: null, billing: null }, null, defaultBillingRules)!;
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

  it("bills by the plan's own rules as the log states them at each request, laid over the configured ones", () => {
    const withRules = (planId: string, billing: PlanUpdated["data"]["changes"]["billing"]): PlanUpdated => ({ type: "PlanUpdated", version: 1, data: { planId, changes: { billing }, actor: { kind: "admin", id: "test" } } });
    const events = [
      planCreated("gold", { limit: 100, period: "day", enforcement: "hard" }),
      subscriptionStarted("sub-1", "gold"),
      completed({ n: 1, startedAt: "2025-06-15T10:00:00.000Z" }, 503),
      withRules("gold", { upstreamServerErrors: true }),
      completed({ n: 2, startedAt: "2025-06-15T11:00:00.000Z" }, 503),
      completed({ n: 3, startedAt: "2025-06-15T11:00:01.000Z" }, 200, "hit"),
      withRules("gold", null),
      completed({ n: 4, startedAt: "2025-06-15T12:00:00.000Z" }, 503),
    ].map((event) => parseEvent(event.type, event.version, event.data));
    // The configured rules make cache hits free; the plan's rule bills upstream 5xx while it stands.
    const configured = BillingRules.parse({ cacheHits: false });
    const resolver = (_planId: string | null, planRules: BillingRulesOverride | null): BillingRules => layerBillingRules(configured, planRules);
    for (const size of [1, 3, events.length]) {
      const { usage, plans } = fold(events, size, resolver);
      expect(usage.get(usageKey("sub-1", "day", Date.parse("2025-06-15T00:00:00.000Z")))).toMatchObject({ requests: 4, admitted: 4, billable: 1 });
      expect(plans.get("gold")).toMatchObject({ quota: { limit: 100 }, billing: null });
    }
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

describe("billing anchors: an anchored subscription's periods", () => {
  const iso = (ms: number) => new Date(ms).toISOString();
  /** [period start, period end, requests] of a subscription's rows, by period start. */
  function periodsOf(usage: Map<string, UsageCounts>, subscriptionId: string): [string, string, number][] {
    return [...usage.values()]
      .filter((row) => row.subscriptionId === subscriptionId)
      .sort((a, b) => a.periodStart - b.periodStart)
      .map((row) => [iso(row.periodStart), iso(row.periodEnd), row.requests]);
  }
  const at = (subscriptionId: string, startedAt: string, planId: string) => completed({ subscriptionId, planId, startedAt });

  const log: TollgateEvent[] = [
    planCreated("daily", { limit: 50, period: "day", enforcement: "hard" }),
    planCreated("monthly", { limit: 1_000, period: "month", enforcement: "overage" }),
    subscriptionStarted("sub-day", "daily", "2025-01-10T08:30:00.000Z"),
    subscriptionStarted("sub-month", "monthly", "2024-03-15T00:00:00.000Z"),
    subscriptionStarted("sub-31st", "monthly", "2025-01-31T10:00:00.000Z"),
    subscriptionStarted("sub-calendar", "daily", null),
    // A daily period runs from the anchor's time of day, 08:30, to the next day's.
    at("sub-day", "2025-06-15T07:00:00.000Z", "daily"),
    at("sub-day", "2025-06-15T08:29:59.999Z", "daily"),
    at("sub-day", "2025-06-15T08:30:00.000Z", "daily"),
    // A monthly one from the anchor's day of the month, the 15th.
    at("sub-month", "2025-06-14T23:59:59.999Z", "monthly"),
    at("sub-month", "2025-06-15T00:00:00.000Z", "monthly"),
    // Anchored on the 31st: February's period starts on its last day, March's on the 31st.
    at("sub-31st", "2025-02-28T09:59:59.999Z", "monthly"),
    at("sub-31st", "2025-02-28T10:00:00.000Z", "monthly"),
    at("sub-31st", "2025-03-30T12:00:00.000Z", "monthly"),
    at("sub-31st", "2025-03-31T10:00:00.000Z", "monthly"),
    at("sub-31st", "2025-04-30T10:00:00.000Z", "monthly"),
    // Without an anchor: calendar days.
    at("sub-calendar", "2025-06-15T07:00:00.000Z", "daily"),
    at("sub-calendar", "2025-06-15T08:30:00.000Z", "daily"),
    // A plan change keeps the anchor: sub-day's monthly periods start on the 10th at 08:30.
    subscriptionPlanChanged("sub-day", "daily", "monthly"),
    completed({ subscriptionId: "sub-day", planId: null, startedAt: "2025-06-20T00:00:00.000Z" }),
  ].map((event) => parseEvent(event.type, event.version, event.data));

  it("keeps the anchor with the subscription's plan, across a plan change", () => {
    const { subscriptions } = fold(log);
    expect(subscriptions.get("sub-day")).toEqual({ planId: "monthly", billingAnchor: Date.parse("2025-01-10T08:30:00.000Z") });
    expect(subscriptions.get("sub-calendar")).toEqual({ planId: "daily", billingAnchor: null });
  });

  it("counts a daily quota from the anchor's time of day", () => {
    expect(periodsOf(fold(log).usage, "sub-day")).toEqual([
      // After the move to the monthly plan: a month from the 10th at 08:30.
      ["2025-06-10T08:30:00.000Z", "2025-07-10T08:30:00.000Z", 1],
      ["2025-06-14T08:30:00.000Z", "2025-06-15T08:30:00.000Z", 2],
      ["2025-06-15T08:30:00.000Z", "2025-06-16T08:30:00.000Z", 1],
    ]);
  });

  it("counts a monthly quota from the anchor's day of the month", () => {
    expect(periodsOf(fold(log).usage, "sub-month")).toEqual([
      ["2025-05-15T00:00:00.000Z", "2025-06-15T00:00:00.000Z", 1],
      ["2025-06-15T00:00:00.000Z", "2025-07-15T00:00:00.000Z", 1],
    ]);
  });

  it("puts an anchor on the 31st on the last day of shorter months", () => {
    expect(periodsOf(fold(log).usage, "sub-31st")).toEqual([
      ["2025-01-31T10:00:00.000Z", "2025-02-28T10:00:00.000Z", 1],
      ["2025-02-28T10:00:00.000Z", "2025-03-31T10:00:00.000Z", 2],
      ["2025-03-31T10:00:00.000Z", "2025-04-30T10:00:00.000Z", 1],
      ["2025-04-30T10:00:00.000Z", "2025-05-31T10:00:00.000Z", 1],
    ]);
  });

  it("leaves a subscription without an anchor on calendar days", () => {
    expect(periodsOf(fold(log).usage, "sub-calendar")).toEqual([["2025-06-15T00:00:00.000Z", "2025-06-16T00:00:00.000Z", 2]]);
  });

  it("gives the same periods whatever the batch size", () => {
    const whole = fold(log).usage;
    for (const size of [1, 3, 7]) expect(fold(log, size).usage).toEqual(whole);
  });
});

describe("WebSocket sessions: `billable` counts the units the plan's `billing.websocket` bills", () => {
  const day = usageKey("sub-1", "day", Date.parse("2025-06-15T00:00:00.000Z"));
  const withRules = (billing: BillingRulesOverride | null): PlanUpdated => ({ type: "PlanUpdated", version: 1, data: { planId: "gold", changes: { billing }, actor: { kind: "admin", id: "test" } } });
  const under = (billing: BillingRulesOverride | null, ...requests: RequestEvent[]) =>
    fold(
      [planCreated("gold", { limit: 500, period: "day", enforcement: "hard" }), withRules(billing), subscriptionStarted("sub-1", "gold"), ...requests].map((event) =>
        parseEvent(event.type, event.version, event.data),
      ),
      2,
      (_planId, planRules) => layerBillingRules(defaultBillingRules, planRules),
    ).usage.get(day);
  const session = (fromClient: number, fromUpstream: number, durationMs = 30_000) => webSocketSession({ n: fromClient }, { fromClient, fromUpstream }, durationMs);

  it("per message: 40 + 2 messages are 42 units; a session without messages none; each session one admitted request", () => {
    expect(under({ websocket: "per-message" }, completed({ n: 1 }), session(40, 2), session(0, 0))).toMatchObject({ requests: 3, admitted: 3, billable: 43 });
  });

  it("per minute: 125 s are 3 units; by default a session is 1", () => {
    expect(under({ websocket: "per-minute" }, session(40, 2, 125_000))).toMatchObject({ admitted: 1, billable: 3 });
    expect(under(null, session(40, 2, 125_000))).toMatchObject({ admitted: 1, billable: 1 });
  });

  it("assesses a session's units, and a session that bills none as not billable", () => {
    const perMessage = layerBillingRules(defaultBillingRules, { websocket: "per-message" });
    expect(assessRequest(session(40, 2), gold, null, perMessage)).toMatchObject({ admitted: true, billable: true, units: 42 });
    expect(assessRequest(session(0, 0), gold, null, perMessage)).toMatchObject({ admitted: true, billable: false, units: 0 });
  });
});
