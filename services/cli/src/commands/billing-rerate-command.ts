import { readFile } from "node:fs/promises";
import { reRateMonth, SqliteBillingRecords, type ReRating } from "@tollgate/billing-projector";
import { PlanPricing } from "@tollgate/events";

export interface BillingRerateOptions {
  billingStore: string;
  projectorName: string;
  month: string;
  /** A JSON file holding a plan pricing (`currency`, `flatFeeMinor`, `includedUnits`, `overageUnitPriceMinor` or `tiers`). */
  pricingFile: string;
  subscriptionId?: string;
  json: boolean;
  write?: (line: string) => void;
}

/** `tollgate billing rerate --period YYYY-MM --pricing FILE`: a dry run; it opens billing.db read-only and sends and appends nothing. */
export async function billingRerate(options: BillingRerateOptions): Promise<number> {
  const write = options.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const parsed = PlanPricing.safeParse(JSON.parse(await readFile(options.pricingFile, "utf8")));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) write(`${options.pricingFile}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    return 1;
  }
  const records = SqliteBillingRecords.open({ file: options.billingStore, name: options.projectorName });
  try {
    const result = reRateMonth({ records, month: options.month, pricing: parsed.data, ...(options.subscriptionId === undefined ? {} : { subscriptionId: options.subscriptionId }) });
    if (options.json) write(JSON.stringify(result, null, 2));
    else for (const line of formatReRating(result)) write(line);
    return 0;
  } finally {
    records.close();
  }
}

export function formatReRating(result: ReRating): string[] {
  const money = (minor: number | null | undefined, currency: string | null | undefined): string => (minor === null || minor === undefined ? "not rated" : `${minor} ${currency ?? ""}`.trim());
  const out = [`re-rating ${result.month} (dry run: nothing is written or sent)`];
  if (result.subscriptions.length === 0) out.push("  no usage in this period");
  for (const entry of result.subscriptions) {
    out.push(
      `  ${entry.subscriptionId} ${new Date(entry.periodStart).toISOString()}: ${entry.units} units; was ${money(entry.original?.totalMinor, entry.original?.currency)}, ` +
        `corrected ${money(entry.corrected.totalMinor, entry.corrected.currency)}, difference ${entry.differenceMinor === null ? "n/a" : (entry.differenceMinor > 0 ? "+" : "") + String(entry.differenceMinor)}`,
    );
  }
  out.push(`  total: was ${result.totals.originalMinor}, corrected ${result.totals.correctedMinor}, difference ${result.totals.differenceMinor > 0 ? "+" : ""}${result.totals.differenceMinor} (minor units)`);
  return out;
}
