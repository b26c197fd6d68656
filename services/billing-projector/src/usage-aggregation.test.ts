import { type BillingRulesOverride, BillingRules, defaultBillingRules, isBillable, type PlanUpdated, type TollgateEvent } from "@tollgate/events";
import { resolveBillingRules } from "./billing-rules-resolver.js";
import { describe, expect, it } from "vitest";
import {
  completed,
  consumerLabelled,
  consumerRegistered,
  failed,
  planBillingChanged,
  planCreated,
  planMeterChanged,
  rejected,
  subscriptionPlanChanged,
  subscriptionStarted,
  webSocketSession,
} from "./test-support/billing-fixtures.js";
import { aggregateBatch, type BillingChanges, type BillingReader, type BillingRulesResolver, type UsageAggregate } from "./usage-aggregation.js";

const emptyReader: BillingReader = { plan: () => null, subscription: () => null, customer: () => null, usage: () => null };
const rules = (): BillingRules => defaultBillingRules;

function aggregate(events: readonly TollgateEvent[], rulesFor: BillingRulesResolver = rules): BillingChanges {
  return aggregateBatch(events.map((event, index) => ({ position: BigInt(index + 1), event })), emptyReader, rulesFor);
}

function units(changes: BillingChanges): Record<string, Pick<UsageAggregate, "units" | "throughPosition" | "periodStart">> {
  return Object.fromEntries(
    [...changes.usage.values()].map((usage) => [
      `${usage.subscriptionId}|${usage.meterEventName}|${new Date(usage.periodStart).toISOString()}`,
      { units: usage.units, throughPosition: usage.throughPosition, periodStart: usage.periodStart },
    ]),
  );
}

describe("billing aggregation (pure)", () => {
  it("counts billable requests per subscription, meter and calendar month (UTC), by each request's startedAt", () => {
    const changes = aggregate([
      planCreated("metered", "api_requests"),
      subscriptionStarted("sub-1", "consumer-1", "metered"),
      completed({ startedAt: "2025-06-30T23:59:59.999Z" }), // 3
      completed({ startedAt: "2025-07-01T00:00:00.000Z" }), // 4
      completed({ startedAt: "2025-07-15T10:00:00.000Z" }, 404), // 5: 4xx bills by default
      completed({ startedAt: "2025-07-15T10:00:00.000Z" }, 503), // upstream 5xx: not by default
      completed({ startedAt: "2025-07-15T10:00:00.000Z" }, 200, "hit"), // 7: cache hits bill by default
      rejected({ startedAt: "2025-07-15T10:00:00.000Z" }),
      failed({ startedAt: "2025-07-15T10:00:00.000Z" }),
      failed({ startedAt: "2025-07-15T10:00:00.000Z" }, "client-abort"),
      completed({ startedAt: "2025-07-15T10:00:00.000Z", subscriptionId: null, planId: null }),
    ]);
    expect(units(changes)).toEqual({
      "sub-1|api_requests|2025-06-01T00:00:00.000Z": { units: 1, throughPosition: 3n, periodStart: Date.UTC(2025, 5, 1) },
      "sub-1|api_requests|2025-07-01T00:00:00.000Z": { units: 3, throughPosition: 7n, periodStart: Date.UTC(2025, 6, 1) },
    });
    const july = [...changes.usage.values()].find((usage) => usage.periodStart === Date.UTC(2025, 6, 1))!;
    expect(july).toMatchObject({ periodEnd: Date.UTC(2025, 7, 1), planId: "metered", lastEventAt: Date.parse("2025-07-15T10:00:00.000Z") });
  });

  it("aligns periods to the subscription's billing anchor", () => {
    const changes = aggregate([
      planCreated("metered", "api_requests"),
      subscriptionStarted("sub-1", "consumer-1", "metered", "2025-01-31T10:00:00.000Z"),
      completed({ startedAt: "2025-02-28T09:00:00.000Z" }),
      completed({ startedAt: "2025-02-28T12:00:00.000Z" }),
    ]);
    expect(Object.keys(units(changes))).toEqual(["sub-1|api_requests|2025-01-31T10:00:00.000Z", "sub-1|api_requests|2025-02-28T10:00:00.000Z"]);
  });

  it("bills under the plan as it stood at each point of the log: meter changes, plan changes, unmetered plans", () => {
    const changes = aggregate([
      planCreated("metered", "api_requests"),
      planCreated("free", null),
      subscriptionStarted("sub-1", "consumer-1", "metered"),
      completed({}),
      planMeterChanged("metered", "api_calls_v2"),
      completed({}),
      subscriptionPlanChanged("sub-1", "consumer-1", "metered", "free"),
      completed({ planId: "free" }), // unmetered: not billed
      completed({ planId: null }), // no plan on the event: the subscription's plan (free)
    ]);
    expect(units(changes)).toEqual({
      "sub-1|api_requests|2025-06-01T00:00:00.000Z": { units: 1, throughPosition: 4n, periodStart: Date.UTC(2025, 5, 1) },
      "sub-1|api_calls_v2|2025-06-01T00:00:00.000Z": { units: 1, throughPosition: 6n, periodStart: Date.UTC(2025, 5, 1) },
    });
    expect(changes.subscriptions.get("sub-1")).toMatchObject({ planId: "free", consumerId: "consumer-1" });
  });

  it("applies per-plan billing rules and continues from stored documents", () => {
    const stored: UsageAggregate = {
      subscriptionId: "sub-1",
      meterEventName: "api_requests",
      periodStart: Date.UTC(2025, 5, 1),
      periodEnd: Date.UTC(2025, 6, 1),
      originPeriodStart: Date.UTC(2025, 5, 1),
      originPeriodEnd: Date.UTC(2025, 6, 1),
      planId: "metered",
      units: 40,
      throughPosition: 90n,
      lastEventAt: Date.parse("2025-06-10T00:00:00.000Z"),
      pricing: null,
    };
    const reader: BillingReader = {
      plan: (planId) => (planId === "metered" ? { planId, meterEventName: "api_requests", stripePriceId: null, pricing: null, billing: null } : null),
      subscription: () => ({ subscriptionId: "sub-1", consumerId: "consumer-1", planId: "metered", billingAnchor: null, closedThrough: null }),
      customer: () => null,
      usage: () => stored,
    };
    const strict: BillingRules = { ...defaultBillingRules, cacheHits: false, upstreamServerErrors: true };
    const events = [completed({}, 200, "hit"), completed({}, 503), completed({})].map((event, index) => ({ position: BigInt(100 + index), event }));
    const changes = aggregateBatch(events, reader, () => strict);
    expect([...changes.usage.values()]).toEqual([{ ...stored, units: 42, throughPosition: 102n, lastEventAt: Date.parse("2025-06-15T12:00:00.000Z") }]);
  });

  it("bills by the plan's own rules as the log states them at each request, over the configured ones", () => {
    const planRules = (billing: PlanUpdated["data"]["changes"]["billing"]): PlanUpdated => ({ type: "PlanUpdated", version: 1, data: { planId: "metered", changes: { billing }, actor: { kind: "admin", id: "test" } } });
    const configured = BillingRules.parse({ cacheHits: false });
    const changes = aggregate(
      [
        planCreated("metered", "api_requests"),
        subscriptionStarted("sub-1", "consumer-1", "metered"),
        completed({ startedAt: "2025-07-15T10:00:00.000Z" }, 503), // not billed: configured rules
        planRules({ upstreamServerErrors: true }),
        completed({ startedAt: "2025-07-15T10:00:01.000Z" }, 503), // billed: the plan's rule
        completed({ startedAt: "2025-07-15T10:00:02.000Z" }, 200, "hit"), // not billed: configured cacheHits false stays
        planRules(null),
        completed({ startedAt: "2025-07-15T10:00:03.000Z" }, 503), // not billed again
      ],
      resolveBillingRules(configured, {}),
    );
    expect(units(changes)).toEqual({ "sub-1|api_requests|2025-07-01T00:00:00.000Z": { units: 1, throughPosition: 5n, periodStart: Date.UTC(2025, 6, 1) } });
    expect(changes.plans.get("metered")?.billing).toBeNull();
  });

  it("links consumers to their Stripe customer through the stripeCustomerId label", () => {
    const changes = aggregate([consumerRegistered("c-1", null), consumerRegistered("c-2", "cus_2"), consumerLabelled("c-1", "cus_1")]);
    expect(Object.fromEntries([...changes.customers].map(([id, link]) => [id, link.stripeCustomerId]))).toEqual({ "c-1": "cus_1", "c-2": "cus_2" });
  });

  it("bills exactly what the quota projector's rules bill (the rules, case by case)", () => {
    const cases: [string, boolean][] = [
      ["200", isBillable(completed({}), defaultBillingRules)],
      ["404", isBillable(completed({}, 404), defaultBillingRules)],
      ["503", isBillable(completed({}, 503), defaultBillingRules)],
      ["hit", isBillable(completed({}, 200, "hit"), defaultBillingRules)],
      ["rejected", isBillable(rejected({}), defaultBillingRules)],
      ["gateway failure", isBillable(failed({}), defaultBillingRules)],
      ["fallback", isBillable(failed({}, "upstream-error", 1, true), { ...defaultBillingRules, fallbacks: true })],
      ["never reached upstream", isBillable(failed({}, "client-abort", 0), { ...defaultBillingRules, clientAborts: true })],
    ];
    expect(Object.fromEntries(cases)).toEqual({
      "200": true,
      "404": true,
      "503": false,
      hit: true,
      rejected: false,
      "gateway failure": false,
      fallback: true,
      "never reached upstream": false,
    });
  });

  it("keeps with each period the pricing in force at its last request: a price change does not re-price an earlier period", () => {
    const before = { currency: "usd", flatFeeMinor: 0, includedUnits: 0, overageUnitPriceMinor: 5, tiers: null };
    const after = { ...before, overageUnitPriceMinor: 7 };
    const changes = aggregate([
      planCreated("metered", "api_requests", before),
      subscriptionStarted("sub-1", "consumer-1", "metered"),
      completed({ startedAt: "2025-06-20T00:00:00.000Z" }),
      { type: "PlanUpdated", version: 1, data: { planId: "metered", changes: { pricing: after }, actor: { kind: "admin", id: "test" } } },
      completed({ startedAt: "2025-07-02T00:00:00.000Z" }),
    ]);
    expect([...changes.usage.values()].map((usage) => [new Date(usage.periodStart).toISOString().slice(0, 7), usage.pricing?.overageUnitPriceMinor])).toEqual([
      ["2025-06", 5],
      ["2025-07", 7],
    ]);
  });
});

describe("WebSocket sessions: billed by the plan's `billing.websocket`", () => {
  const at = "2025-06-15T12:00:00.000Z";
  const june = "sub-1|api_requests|2025-06-01T00:00:00.000Z";
  const sessionUnder = (billing: BillingRulesOverride | null, session: TollgateEvent): BillingChanges =>
    aggregate(
      [planCreated("metered", "api_requests"), planBillingChanged("metered", billing), subscriptionStarted("sub-1", "consumer-1", "metered"), session],
      resolveBillingRules(defaultBillingRules, {}),
    );

  const cases: [string, BillingRulesOverride | null, { fromClient: number; fromUpstream: number }, number, number][] = [
    ["per-message: 40 + 2 messages add 42", { websocket: "per-message" }, { fromClient: 40, fromUpstream: 2 }, 125_000, 42],
    ["per-minute: 125 s add 3 (started minutes)", { websocket: "per-minute" }, { fromClient: 40, fromUpstream: 2 }, 125_000, 3],
    ["the default (per-connection) adds 1", null, { fromClient: 40, fromUpstream: 2 }, 125_000, 1],
  ];
  it.each(cases)("%s", (_what, billing, messages, durationMs, expected) => {
    const changes = sessionUnder(billing, webSocketSession({ startedAt: at }, messages, durationMs));
    expect(units(changes)[june]).toEqual({ units: expected, throughPosition: 4n, periodStart: Date.UTC(2025, 5, 1) });
    expect(changes.requests.map((request) => [request.status, request.units, request.firstUnit])).toEqual([[101, expected, 1]]);
  });

  it("a session that carried no messages bills nothing per message: no units, no usage document, no receipt row", () => {
    const changes = sessionUnder({ websocket: "per-message" }, webSocketSession({ startedAt: at }, { fromClient: 0, fromUpstream: 0 }));
    expect(changes.usage.size).toBe(0);
    expect(changes.requests).toEqual([]);
  });

  it("numbers each request's units in log order within its usage document, across batches", () => {
    const events: TollgateEvent[] = [
      planCreated("metered", "api_requests"),
      planBillingChanged("metered", { websocket: "per-message" }),
      subscriptionStarted("sub-1", "consumer-1", "metered"),
      completed({ startedAt: at }),
      webSocketSession({ startedAt: at }, { fromClient: 40, fromUpstream: 2 }),
      completed({ startedAt: at }, 503), // not billable: no units, no number
      completed({ startedAt: at }),
    ];
    const rulesFor = resolveBillingRules(defaultBillingRules, {});
    const whole = aggregate(events, rulesFor);
    expect(whole.requests.map((request) => [request.units, request.firstUnit])).toEqual([
      [1, 1],
      [42, 2],
      [1, 44],
    ]);
    expect(units(whole)[june]?.units).toBe(44);
    // The same in two batches: the second continues from the stored document.
    const first = aggregateBatch(events.slice(0, 5).map((event, index) => ({ position: BigInt(index + 1), event })), emptyReader, rulesFor);
    const stored: BillingReader = {
      plan: (planId) => first.plans.get(planId) ?? null,
      subscription: (subscriptionId) => first.subscriptions.get(subscriptionId) ?? null,
      customer: () => null,
      usage: () => [...first.usage.values()][0] ?? null,
    };
    const second = aggregateBatch(events.slice(5).map((event, index) => ({ position: BigInt(index + 6), event })), stored, rulesFor);
    expect([...first.requests, ...second.requests].map((request) => [request.units, request.firstUnit])).toEqual(whole.requests.map((request) => [request.units, request.firstUnit]));
    expect([...second.usage.values()][0]?.units).toBe(44);
  });
});
