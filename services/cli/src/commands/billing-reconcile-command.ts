import { reconcileMonth, SqliteBillingRecords, type ReconciliationReport } from "@tollgate/billing-projector";
import { openEventStore, type EventStoreConfig } from "@tollgate/eventstore";

export interface BillingReconcileOptions {
  store: EventStoreConfig;
  /** The billing projector's file (read-only here). */
  billingStore: string;
  projectorName: string;
  month: string;
  subscriptionId?: string;
  json: boolean;
  write?: (line: string) => void;
}

/**
 * `tollgate billing reconcile --period YYYY-MM`: the log recounted, next to billing.db's
 * projection and ledger and the UsageReported records. Exit code 0 when the month balances
 * or every difference is explained (pending, late, not yet projected), 2 when a difference
 * has no explanation. It reads only.
 */
export async function billingReconcile(options: BillingReconcileOptions): Promise<number> {
  const write = options.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const records = SqliteBillingRecords.open({ file: options.billingStore, name: options.projectorName });
  const { store } = await openEventStore(options.store);
  try {
    const report = await reconcileMonth({ eventStore: store, records, month: options.month, ...(options.subscriptionId === undefined ? {} : { subscriptionId: options.subscriptionId }) });
    if (options.json) write(JSON.stringify(report, null, 2));
    else for (const line of formatReconciliation(report)) write(line);
    return report.status === "unexplained" ? 2 : 0;
  } finally {
    records.close();
    await store.close();
  }
}

export function formatReconciliation(report: ReconciliationReport): string[] {
  const out = [`billing reconciliation ${report.month}: ${report.status} (log recounted through position ${report.checkpoint ?? "none"}; head ${report.head})`];
  if (report.lines.length === 0) out.push("  no billable usage in this period");
  for (const line of report.lines) {
    const { log, projection, ledger } = line;
    out.push(
      `  ${line.subscriptionId} ${line.meterEventName} ${new Date(line.periodStart).toISOString()} → ${new Date(line.periodEnd).toISOString()}: ${line.status}`,
      `    log        on time ${log.onTime}, late (adjusted later) ${log.lateOut}, late from earlier periods ${log.lateIn}, not yet projected ${log.notYetProjected}`,
      `    billing.db units ${projection.units}, adjusted out ${projection.adjustedOut}, adjusted in ${projection.adjustedIn}`,
      `    ledger     reported ${ledger.reported}, pending ${ledger.pending}, rejected ${ledger.rejected}, unplanned ${ledger.unplanned}; recorded in the log ${line.recordedInLog}`,
      ...line.differences.map((difference) => `    - ${difference}`),
    );
  }
  const t = report.totals;
  out.push(`  totals: billable ${t.billable} (on time ${t.onTime}, late ${t.lateOut}); billed in period ${t.billedInPeriod} (late in ${t.lateIn}); reported ${t.reported}, pending ${t.pending}, rejected ${t.rejected}, unplanned ${t.unplanned}`);
  return out;
}
