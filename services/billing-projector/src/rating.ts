import type { PlanPricing } from "@tollgate/events";

export interface RatedLine {
  readonly description: string;
  readonly units: number;
  /** Minor units of the currency; fractional unit prices can make it fractional before rounding. */
  readonly amountMinor: number;
}

export interface RatedPeriod {
  readonly currency: string;
  readonly units: number;
  readonly includedUnits: number;
  /** Units beyond the included ones. */
  readonly overageUnits: number;
  readonly lines: readonly RatedLine[];
  /** Sum of the lines, rounded half up to a whole minor unit once, at the end. */
  readonly totalMinor: number;
}

/**
 * Rates one period's billable units with a plan's pricing, pure: the flat fee, the
 * included units free, then the units beyond them at the overage price or through the
 * graduated tiers (each unit at the price of the tier it falls in, a tier's flat fee
 * once when any unit reaches it). For the invoice preview and re-rating; the amount
 * Stripe invoices comes from Stripe's own price for the meter.
 */
export function ratePeriod(pricing: PlanPricing, units: number): RatedPeriod {
  const included = Math.min(units, pricing.includedUnits);
  const overageUnits = units - included;
  const lines: RatedLine[] = [];
  if (pricing.flatFeeMinor > 0) lines.push({ description: "flat fee", units: 0, amountMinor: pricing.flatFeeMinor });
  if (included > 0) lines.push({ description: "included units", units: included, amountMinor: 0 });
  if (pricing.tiers === null) {
    if (overageUnits > 0) lines.push({ description: "overage", units: overageUnits, amountMinor: overageUnits * pricing.overageUnitPriceMinor });
  } else {
    let floor = 0;
    for (const [index, tier] of pricing.tiers.entries()) {
      if (overageUnits <= floor) break;
      const ceiling = tier.upTo ?? Number.POSITIVE_INFINITY;
      const inTier = Math.min(overageUnits, ceiling) - floor;
      lines.push({ description: `tier ${index + 1} (${floor + 1}-${tier.upTo ?? "∞"})`, units: inTier, amountMinor: inTier * tier.unitPriceMinor + tier.flatFeeMinor });
      floor = ceiling;
    }
  }
  const total = lines.reduce((sum, line) => sum + line.amountMinor, 0);
  return { currency: pricing.currency, units, includedUnits: included, overageUnits, lines, totalMinor: Math.round(total) };
}
