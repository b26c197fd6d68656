import { describe, expect, it } from "vitest";
import { billingEventTypes, billingStream, UsageReported } from "./billing-events.js";
import { PlanCreated } from "./control-events.js";

const reported = {
  type: "UsageReported",
  version: 1,
  data: {
    reportId: "tgu_0123456789abcdef0123456789abcdef0123456789abcdef",
    subscriptionId: "sub-1",
    consumerId: "acme",
    planId: "metered",
    stripeCustomerId: "cus_123",
    meterEventName: "api_requests",
    periodStart: "2025-06-01T00:00:00.000Z",
    periodEnd: "2025-07-01T00:00:00.000Z",
    fromPosition: "0",
    toPosition: "120",
    units: 50,
    meterTimestamp: "2025-06-20T08:00:00.000Z",
    timestampClamped: false,
    reportedAt: "2025-06-20T08:00:01.000Z",
  },
};

describe("billing events", () => {
  it("UsageReported records a report's range, units and timestamp, in the subscription's billing stream", () => {
    expect(UsageReported.parse(reported)).toEqual(reported);
    expect(UsageReported.safeParse({ ...reported, data: { ...reported.data, units: 0 } }).success).toBe(false);
    expect(UsageReported.safeParse({ ...reported, data: { ...reported.data, toPosition: "-1" } }).success).toBe(false);
    expect(billingStream("sub-1")).toBe("billing-sub-1");
    expect(billingEventTypes).toEqual(expect.arrayContaining(["UsageReported", "StripeCustomerLinked", "StripeSubscriptionLinked", "StripeWebhookReceived"]));
  });

  it("a plan's pricing is optional: plans recorded before it still parse", () => {
    const plan = {
      type: "PlanCreated",
      version: 1,
      data: {
        planId: "gold",
        name: "Gold",
        description: "",
        public: true,
        rateLimits: [],
        quota: null,
        routes: ["*"],
        scopes: [],
        price: { stripePriceId: null, stripeMeterEventName: null },
        actor: { kind: "admin", id: "a" },
      },
    };
    expect(PlanCreated.parse(plan).data.pricing).toBeUndefined();
    const priced = PlanCreated.parse({ ...plan, data: { ...plan.data, pricing: { currency: "usd", includedUnits: 10 } } });
    expect(priced.data.pricing).toEqual({ currency: "usd", flatFeeMinor: 0, includedUnits: 10, overageUnitPriceMinor: 0, tiers: null });
  });
});
