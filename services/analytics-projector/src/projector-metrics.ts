import type { Position, RunnerStatus } from "@tollgate/eventstore";
import type { Registry } from "@tollgate/observability";
import type { AnalyticsProjectorStats } from "./analytics-projector.js";

type RegisteredMetric = Parameters<Registry["registerMetric"]>[0];

export interface AnalyticsMetricSources {
  runner: () => RunnerStatus | null;
  head: () => Promise<Position>;
  stats: () => AnalyticsProjectorStats;
  retention: () => { runs: number; removed: number; errors: number };
}

/**
 * The projector's metrics, read when /metrics is scraped (nothing is updated on the
 * write path). Lag: tollgate_analytics_projection_lag_seconds (age of the oldest event
 * received but not yet written) and _behind_positions (log head minus checkpoint; the
 * log also holds control events this projector skips, so a caught-up projector may show
 * a small number). Throughput: rate() of _events_total and _rows_inserted_total;
 * _rows_skipped_total counts re-delivered rows that were already there.
 */
export function registerAnalyticsMetrics(registry: Registry, sources: AnalyticsMetricSources): void {
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
    registry.registerMetric(registered as unknown as RegisteredMetric);
  };
  const { runner, stats } = sources;
  metric("tollgate_analytics_projection_lag_seconds", "Age of the oldest event received but not yet written", "gauge", () => {
    const status = runner();
    return status === null ? null : status.lagMs / 1_000;
  });
  metric("tollgate_analytics_projection_checkpoint_position", "Log position of the last event whose rows are written", "gauge", () => {
    const checkpoint = runner()?.checkpoint;
    return checkpoint === null || checkpoint === undefined ? null : Number(checkpoint);
  });
  metric("tollgate_analytics_projection_head_position", "Log position of the newest event", "gauge", async () => Number(await sources.head()));
  metric("tollgate_analytics_projection_behind_positions", "Log head minus the projector's checkpoint", "gauge", async () => {
    const head = await sources.head();
    const checkpoint = runner()?.checkpoint ?? 0n;
    return Number(head > checkpoint ? head - checkpoint : 0n);
  });
  metric("tollgate_analytics_projection_events_total", "Events applied since start", "counter", () => runner()?.eventsHandled ?? 0);
  metric("tollgate_analytics_projection_batches_total", "Batches applied since start", "counter", () => runner()?.batchesHandled ?? 0);
  metric("tollgate_analytics_rows_inserted_total", "Raw rows inserted since start", "counter", () => stats().rowsInserted);
  metric("tollgate_analytics_rows_skipped_total", "Re-delivered rows already present, not inserted again", "counter", () => stats().rowsSkipped);
  metric("tollgate_analytics_last_batch_seconds", "Duration of the last batch write", "gauge", () => stats().lastBatchMs / 1_000);
  metric("tollgate_analytics_projection_consecutive_failures", "Failures since the last batch that was applied", "gauge", () => runner()?.consecutiveFailures ?? 0);
  metric("tollgate_analytics_retention_removed_total", "Raw partitions (ClickHouse) or rows (SQLite) removed by retention", "counter", () => sources.retention().removed);
  metric("tollgate_analytics_retention_errors_total", "Retention runs that failed", "counter", () => sources.retention().errors);
}
