import type { PlanPricing } from "@tollgate/events";
import { describe, expect, it } from "vitest";
import { previewInvoice } from "./invoice-preview.js";
import type { UsageAggregate } from "./usage-aggregation.js";

const period = { start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) };
const october = Date.UTC(2026, 9, 1);
const tiered: PlanPricing = {
  currency: "eur",
  flatFeeMinor: 0,
  includedUnits: 10,
  overageUnitPriceMinor: 0,
  tiers: [
    { upTo: 100, unitPriceMinor: 3, flatFeeMinor: 0 },
    { upTo: null, unitPriceMinor: 1, flatFeeMinor: 50 },
  ],
};

function usage(units: number, originPeriodStart = period.start, pricing: PlanPricing | null = tiered): UsageAggregate {
  return {
    subscriptionId: "sub-1",
    meterEventName: "calls",
    periodStart: period.start,
    periodEnd: period.end,
    originPeriodStart,
    originPeriodEnd: originPeriodStart === period.start ? period.end : period.start,
    planId: "plan",
    units,
    throughPosition: 1n,
    lastEventAt: period.start,
    pricing,
  };
}

describe("invoice preview (pure)", () => {
  it("rates the period's own units by tiers, each line naming which of the period's requests it covers", () => {
    const preview = previewInvoice({ subscriptionId: "sub-1", period, usage: [usage(150)], currentPricing: null });
    expect(preview.lines.map((line) => [line.lineId, line.units, line.amountMinor, line.receipt?.firstUnit])).toEqual([
      ["calls/included", 10, 0, 1],
      ["calls/tier-1", 100, 300, 11],
      ["calls/tier-2", 40, 90, 111],
    ]);
    expect(preview).toMatchObject({ currency: "eur", units: 150, adjustmentUnits: 0, totalMinor: 390 });
  });

  it("prices late units on top of the period's own, with the period's pricing, not the plan's current one", () => {
    const cheaper: PlanPricing = { ...tiered, tiers: null, overageUnitPriceMinor: 0 };
    const preview = previewInvoice({ subscriptionId: "sub-1", period, usage: [usage(105), usage(10, october)], currentPricing: cheaper });
    // 105 own units: 10 included + 95 in tier 1 (285); 10 late: 5 more in tier 1 (15) and 5 in tier 2 (5 + 50).
    expect(preview.lines.at(-1)).toMatchObject({ kind: "adjustment", units: 10, amountMinor: 70, adjustsPeriodStart: october, receipt: { originPeriodStart: october, firstUnit: 1 } });
    expect(preview.totalMinor).toBe(285 + 70);
    expect(preview.adjustmentUnits).toBe(10);
  });

  it("shows the flat fee of a period without usage, and leaves a plan without pricing unrated", () => {
    const flat: PlanPricing = { currency: "usd", flatFeeMinor: 900, includedUnits: 0, overageUnitPriceMinor: 1, tiers: null };
    expect(previewInvoice({ subscriptionId: "sub-1", period, usage: [], currentPricing: flat, currentMeterEventName: "calls" }).lines).toEqual([
      { lineId: "calls/flat-fee", kind: "flat-fee", meterEventName: "calls", description: "flat fee", units: 0, amountMinor: 900, receipt: null, adjustsPeriodStart: null },
    ]);
    const unrated = previewInvoice({ subscriptionId: "sub-1", period, usage: [usage(7, period.start, null)], currentPricing: null });
    expect(unrated).toMatchObject({ currency: null, units: 7, totalMinor: null });
  });
});
