import { PlanPricing } from "@tollgate/events";
import { describe, expect, it } from "vitest";
import { ratePeriod } from "./rating.js";

describe("ratePeriod", () => {
  it("charges the flat fee, includes the included units, and prices the overage (fractional unit prices rounded once)", () => {
    const pricing = PlanPricing.parse({ currency: "usd", flatFeeMinor: 2_900, includedUnits: 1_000, overageUnitPriceMinor: 0.25 });
    expect(ratePeriod(pricing, 0).totalMinor).toBe(2_900);
    expect(ratePeriod(pricing, 1_000).totalMinor).toBe(2_900);
    const rated = ratePeriod(pricing, 1_003);
    expect(rated).toMatchObject({ units: 1_003, includedUnits: 1_000, overageUnits: 3, totalMinor: 2_901 });
    expect(rated.lines.map((line) => [line.description, line.units, line.amountMinor])).toEqual([
      ["flat fee", 0, 2_900],
      ["included units", 1_000, 0],
      ["overage", 3, 0.75],
    ]);
  });

  it("prices graduated tiers unit by unit, with each reached tier's flat fee", () => {
    const pricing = PlanPricing.parse({
      currency: "eur",
      includedUnits: 100,
      tiers: [
        { upTo: 1_000, unitPriceMinor: 1 },
        { upTo: 10_000, unitPriceMinor: 0.5, flatFeeMinor: 100 },
        { upTo: null, unitPriceMinor: 0.1 },
      ],
    });
    expect(ratePeriod(pricing, 100).totalMinor).toBe(0);
    expect(ratePeriod(pricing, 600).totalMinor).toBe(500);
    // 100 included; 1,000 at 1; 9,000 at 0.5 + 100; 900 at 0.1
    expect(ratePeriod(pricing, 11_000).totalMinor).toBe(1_000 + 4_500 + 100 + 90);
    expect(ratePeriod(pricing, 11_000).lines.map((line) => line.units)).toEqual([100, 1_000, 9_000, 900]);
  });

  it("refuses tiers that are not increasing or do not end open", () => {
    expect(PlanPricing.safeParse({ currency: "usd", tiers: [{ upTo: 10, unitPriceMinor: 1 }] }).success).toBe(false);
    expect(PlanPricing.safeParse({ currency: "usd", tiers: [{ upTo: 10, unitPriceMinor: 1 }, { upTo: 5, unitPriceMinor: 1 }, { upTo: null, unitPriceMinor: 1 }] }).success).toBe(false);
    expect(PlanPricing.safeParse({ currency: "USD" }).success).toBe(false);
  });
});
