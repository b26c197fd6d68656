import type { PlanPricing } from "@tollgate/events";
import type { BillingPeriod } from "./billing-period.js";
import { ratePeriod } from "./rating.js";
import { isAdjustment, type UsageAggregate } from "./usage-aggregation.js";

export type InvoiceLineKind = "flat-fee" | "included" | "overage" | "tier" | "adjustment";

/** One line of an invoice preview; amounts in minor units of the preview's currency, before the one rounding of the total. */
export interface InvoiceLine {
  /** Stable within the period: `<meter>/<kind>` (`<meter>/tier-2`), or `<meter>/adjustment/<ISO start of the late usage's period>`. */
  readonly lineId: string;
  readonly kind: InvoiceLineKind;
  readonly meterEventName: string;
  readonly description: string;
  readonly units: number;
  readonly amountMinor: number;
  /**
   * The requests behind the line: units `firstUnit` to `firstUnit` + units − 1 of the usage
   * document, numbered in log order (a request of n units holds n consecutive numbers, so a
   * WebSocket session can straddle two lines); null for the flat fee.
   * `SqliteBillingRecords.receiptPage` lists them.
   */
  readonly receipt: { readonly originPeriodStart: number; readonly firstUnit: number } | null;
  /** For an adjustment: the closed period its requests happened in. */
  readonly adjustsPeriodStart: number | null;
}

export interface InvoicePreview {
  readonly subscriptionId: string;
  readonly periodStart: number;
  readonly periodEnd: number;
  /** Null when no pricing applies (the plan has none): the usage is metered, not rated. */
  readonly currency: string | null;
  /** Billable units billed in the period: its own, plus late ones adjusted into it. */
  readonly units: number;
  readonly adjustmentUnits: number;
  readonly lines: readonly InvoiceLine[];
  /** Sum of the lines, rounded half up once; null when nothing is rated. */
  readonly totalMinor: number | null;
}

/**
 * The invoice of one subscription's period, as our records rate it, pure. Per meter: the
 * period's own units are rated with `ratePeriod` and the pricing in force at its last
 * request (an old period keeps its old prices); late units adjusted into it come after,
 * each adjustment priced at what it adds on top (so tiers and included units apply to the
 * period's total, as Stripe's meter total does). A period with no usage shows the flat
 * fee of `currentPricing`.
 */
export function previewInvoice(input: {
  subscriptionId: string;
  period: BillingPeriod;
  /** The usage documents billed in the period (periodStart = period.start). */
  usage: readonly UsageAggregate[];
  /** The subscription's plan's pricing now: used for a meter without usage of its own. */
  currentPricing: PlanPricing | null;
  /** The plan's meter now: names the lines of a period without usage (default "usage"). */
  currentMeterEventName?: string | null;
}): InvoicePreview {
  const { period, currentPricing } = input;
  const byMeter = new Map<string, { regular: UsageAggregate | null; adjustments: UsageAggregate[] }>();
  for (const usage of input.usage) {
    if (usage.periodStart !== period.start) continue;
    const entry = byMeter.get(usage.meterEventName) ?? { regular: null, adjustments: [] };
    if (isAdjustment(usage)) entry.adjustments.push(usage);
    else entry.regular = usage;
    byMeter.set(usage.meterEventName, entry);
  }
  const lines: InvoiceLine[] = [];
  let currency: string | null = null;
  let units = 0;
  let adjustmentUnits = 0;
  let rated = false;
  if (byMeter.size === 0 && currentPricing !== null) {
    lines.push(...usageLines(input.currentMeterEventName ?? "usage", 0, currentPricing, period.start));
    currency = currentPricing.currency;
    rated = true;
  }
  for (const [meter, { regular, adjustments }] of [...byMeter.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    adjustments.sort((a, b) => a.originPeriodStart - b.originPeriodStart);
    const own = regular?.units ?? 0;
    const pricing = regular?.pricing ?? adjustments.at(-1)?.pricing ?? currentPricing;
    units += own;
    for (const adjustment of adjustments) adjustmentUnits += adjustment.units;
    units += adjustments.reduce((sum, adjustment) => sum + adjustment.units, 0);
    if (pricing === null) {
      // Metered, not rated: the lines still say what the units are, at no stated price.
      lines.push({ lineId: `${meter}/usage`, kind: "overage", meterEventName: meter, description: "metered usage (no pricing)", units: own, amountMinor: 0, receipt: { originPeriodStart: period.start, firstUnit: 1 }, adjustsPeriodStart: null });
      for (const adjustment of adjustments) lines.push(adjustmentLine(meter, adjustment, 0));
      continue;
    }
    rated = true;
    currency ??= pricing.currency;
    lines.push(...usageLines(meter, own, pricing, period.start));
    let before = linesTotal(ratePeriod(pricing, own).lines);
    let counted = own;
    for (const adjustment of adjustments) {
      counted += adjustment.units;
      const after = linesTotal(ratePeriod(pricing, counted).lines);
      lines.push(adjustmentLine(meter, adjustment, after - before));
      before = after;
    }
  }
  const totalMinor = rated ? Math.round(linesTotal(lines)) : null;
  return { subscriptionId: input.subscriptionId, periodStart: period.start, periodEnd: period.end, currency, units, adjustmentUnits, lines, totalMinor };
}

function linesTotal(lines: readonly { amountMinor: number }[]): number {
  return lines.reduce((sum, line) => sum + line.amountMinor, 0);
}

/** The rated lines of a period's own units, each naming which of its units (in log order) it covers. */
function usageLines(meter: string, units: number, pricing: PlanPricing, periodStart: number): InvoiceLine[] {
  const rated = ratePeriod(pricing, units);
  let nextUnit = 1;
  return rated.lines.map((line) => {
    const kind: InvoiceLineKind = line.description === "flat fee" ? "flat-fee" : line.description === "included units" ? "included" : line.description === "overage" ? "overage" : "tier";
    const id = kind === "tier" ? `tier-${/^tier (\d+)/.exec(line.description)?.[1] ?? "?"}` : kind;
    const receipt = kind === "flat-fee" ? null : { originPeriodStart: periodStart, firstUnit: nextUnit };
    if (kind !== "flat-fee") nextUnit += line.units;
    return { lineId: `${meter}/${id}`, kind, meterEventName: meter, description: line.description, units: line.units, amountMinor: line.amountMinor, receipt, adjustsPeriodStart: null };
  });
}

function adjustmentLine(meter: string, adjustment: UsageAggregate, amountMinor: number): InvoiceLine {
  const origin = new Date(adjustment.originPeriodStart).toISOString();
  return {
    lineId: `${meter}/adjustment/${origin}`,
    kind: "adjustment",
    meterEventName: meter,
    description: `late usage of the period starting ${origin}, closed before it was logged`,
    units: adjustment.units,
    amountMinor,
    receipt: { originPeriodStart: adjustment.originPeriodStart, firstUnit: 1 },
    adjustsPeriodStart: adjustment.originPeriodStart,
  };
}
