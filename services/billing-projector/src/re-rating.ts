import type { PlanPricing } from "@tollgate/events";
import { periodOfMonth } from "./billing-period.js";
import { previewInvoice, type InvoicePreview } from "./invoice-preview.js";
import type { SqliteBillingRecords } from "./sqlite-billing-records.js";

export interface ReRatedSubscription {
  subscriptionId: string;
  periodStart: number;
  periodEnd: number;
  units: number;
  /** As rated with the prices in force in the period; null when it had none. */
  original: InvoicePreview | null;
  corrected: InvoicePreview;
  /** corrected − original, in minor units (corrected's currency); null when the original was not rated or the currencies differ. */
  differenceMinor: number | null;
}

export interface ReRating {
  month: string;
  dryRun: true;
  subscriptions: ReRatedSubscription[];
  totals: { originalMinor: number; correctedMinor: number; differenceMinor: number };
}

/**
 * Re-rates a past billing month with corrected prices, as a dry run: the same units our
 * records hold for each subscription's period (its own and the adjustments into it), once
 * with the pricing in force then and once with `pricing`, and the difference. It only
 * reads (billing.db opened read-only); nothing is appended to the log and nothing is sent
 * to Stripe. Applying a correction is a PlanUpdated (future periods) or a credit note in
 * Stripe: neither is done here.
 */
export function reRateMonth(input: { records: SqliteBillingRecords; month: string; pricing: PlanPricing; subscriptionId?: string }): ReRating {
  const { records, month, pricing } = input;
  const subscriptions = input.records.subscriptions().filter((subscription) => input.subscriptionId === undefined || subscription.subscriptionId === input.subscriptionId);
  const rerated: ReRatedSubscription[] = [];
  for (const subscription of subscriptions) {
    const period = periodOfMonth(month, subscription.billingAnchor);
    const usage = records.usage(subscription.subscriptionId, period.start);
    if (usage.length === 0) continue;
    const currentPricing = records.plan(subscription.planId)?.pricing ?? null;
    const original = previewInvoice({ subscriptionId: subscription.subscriptionId, period, usage, currentPricing });
    // The same documents, each as if its pricing had been the corrected one.
    const corrected = previewInvoice({ subscriptionId: subscription.subscriptionId, period, usage: usage.map((doc) => ({ ...doc, pricing })), currentPricing: pricing });
    const comparable = original.totalMinor !== null && original.currency === corrected.currency;
    rerated.push({
      subscriptionId: subscription.subscriptionId,
      periodStart: period.start,
      periodEnd: period.end,
      units: original.units,
      original: original.totalMinor === null ? null : original,
      corrected,
      differenceMinor: comparable && corrected.totalMinor !== null ? corrected.totalMinor - original.totalMinor : null,
    });
  }
  const originalMinor = rerated.reduce((sum, entry) => sum + (entry.original?.totalMinor ?? 0), 0);
  const correctedMinor = rerated.reduce((sum, entry) => sum + (entry.corrected.totalMinor ?? 0), 0);
  return { month, dryRun: true, subscriptions: rerated, totals: { originalMinor, correctedMinor, differenceMinor: correctedMinor - originalMinor } };
}
