import { describe, expect, it } from "vitest";
import { CreatePlanBody, UpdatePlanBody } from "./plan-schemas.js";

describe("plan schemas: pricing", () => {
  it("is optional on create, so existing plans and clients keep working", () => {
    const body = CreatePlanBody.parse({ name: "Gold" });
    expect(body.pricing).toBeUndefined();
  });

  it("takes a flat fee, included units, an overage price and graduated tiers, with defaults", () => {
    const body = CreatePlanBody.parse({
      name: "Metered",
      price: { stripePriceId: "price_1", stripeMeterEventName: "api_requests" },
      pricing: { currency: "usd", flatFeeMinor: 2_900, includedUnits: 10_000, tiers: [{ upTo: 100_000, unitPriceMinor: 0.1 }, { upTo: null, unitPriceMinor: 0.05 }] },
    });
    expect(body.pricing).toEqual({
      currency: "usd",
      flatFeeMinor: 2_900,
      includedUnits: 10_000,
      overageUnitPriceMinor: 0,
      tiers: [
        { upTo: 100_000, unitPriceMinor: 0.1, flatFeeMinor: 0 },
        { upTo: null, unitPriceMinor: 0.05, flatFeeMinor: 0 },
      ],
    });
  });

  it("changes on update (a PlanUpdated), or is removed with null", () => {
    expect(UpdatePlanBody.parse({ pricing: { currency: "eur", overageUnitPriceMinor: 1 } }).pricing).toMatchObject({ currency: "eur", overageUnitPriceMinor: 1 });
    expect(UpdatePlanBody.parse({ pricing: null }).pricing).toBeNull();
    expect(UpdatePlanBody.safeParse({ pricing: { currency: "dollars" } }).success).toBe(false);
    expect(CreatePlanBody.safeParse({ name: "x", pricing: { currency: "usd", flatFeeMinor: -1 } }).success).toBe(false);
  });
});
