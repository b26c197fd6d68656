import type { Position, RunnerStatus } from "@tollgate/eventstore";
import type { Registry } from "@tollgate/observability";
import type { BillingStats } from "./sqlite-billing-store.js";
import type { ReporterStats } from "./usage-reporter.js";

type RegisteredMetric = Parameters<Registry["registerMetric"]>[0];

export interface BillingMetricSources {
  runner: () => RunnerStatus | null;
  head: () => Promise<Position>;
  billing: () => BillingStats;
  /** Null without a Stripe key. */
  reporter: () => ReporterStats | null;
}

/**
 * The billing projector's metrics, read when /metrics is scraped. The headline is what
 * has not reached Stripe yet: tollgate_billing_pending_units (billable units counted but
 * not accepted by Stripe: unplanned plus in flight), which grows without a key or while
 * Stripe is down and drains afterwards.
 */
export function registerBillingMetrics(registry: Registry, sources: BillingMetricSources): void {
  const metric = (name: string, help: string, type: "gauge" | "counter", read: () => number | null | Promise<number | null>): void => {
    const registered = {
      name,
      help,
      type,
      aggregator: "sum" as const,
      get: async () => {
        const value = await read();
        return { name, help, type, aggregator: "sum", values: value === null ? [] : [{ labels: {}, value }] };
      },
      reset: () => undefined,
    };
    // The registry only calls name, help, type, aggregator, get() and reset().
    registry.registerMetric(registered as unknown as RegisteredMetric);
  };
  const { runner, billing, reporter } = sources;
  metric("tollgate_billing_projection_lag_seconds", "Age of the oldest event received but not yet applied", "gauge", () => {
    const status = runner();
    return status === null ? null : status.lagMs / 1_000;
  });
  metric("tollgate_billing_projection_checkpoint_position", "Log position of the last event whose usage is committed", "gauge", () => {
    const checkpoint = runner()?.checkpoint;
    return checkpoint === null || checkpoint === undefined ? null : Number(checkpoint);
  });
  metric("tollgate_billing_projection_head_position", "Log position of the newest event", "gauge", async () => Number(await sources.head()));
  metric("tollgate_billing_projection_consecutive_failures", "Failures since the last batch that was applied", "gauge", () => runner()?.consecutiveFailures ?? 0);
  metric("tollgate_billing_billable_units", "Billable units counted from the log", "gauge", () => billing().billableUnits);
  metric("tollgate_billing_reported_units", "Units Stripe accepted", "gauge", () => billing().reportedUnits);
  metric("tollgate_billing_pending_units", "Billable units not yet accepted by Stripe (unplanned or in flight)", "gauge", () => {
    const stats = billing();
    return stats.unplannedUnits + stats.inFlightUnits;
  });
  metric("tollgate_billing_rejected_units", "Units in reports Stripe refused for good", "gauge", () => billing().rejectedUnits);
  metric("tollgate_billing_report_retries_total", "Sends that failed and were retried (429, 5xx, timeouts)", "counter", () => reporter()?.retries ?? null);
  metric("tollgate_billing_reports_sent_total", "Reports Stripe accepted since start", "counter", () => reporter()?.sent ?? null);
}
