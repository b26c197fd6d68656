import type { Position, RunnerStatus } from "@tollgate/eventstore";
import type { Registry } from "@tollgate/observability";
import type { ReconciliationStats } from "./reconciliation-loop.js";

type RegisteredMetric = Parameters<Registry["registerMetric"]>[0];

export interface ProjectorMetricSources {
  runner: () => RunnerStatus | null;
  /** The log's head position. */
  head: () => Promise<Position>;
  /** Null when there is no Redis to reconcile. */
  reconciliation: () => ReconciliationStats | null;
  now?: () => number;
}

/**
 * The projector's metrics, read when /metrics is scraped (nothing to update on the
 * projection path). Projection lag is the headline:
 * - tollgate_quota_projection_lag_seconds: age of the oldest event received but not yet
 *   applied (0 when nothing is pending), as the runner reports it;
 * - tollgate_quota_projection_behind_positions: log head minus checkpoint. The log also
 *   holds events this projector does not read, so a caught-up projector can show a small
 *   number here; a growing one means it is falling behind;
 * - tollgate_quota_reconcile_staleness_seconds: time since the last successful
 *   reconciliation of the Redis counters.
 */
export function registerProjectorMetrics(registry: Registry, sources: ProjectorMetricSources): void {
  const now = sources.now ?? Date.now;
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
  const runner = sources.runner;
  const reconciliation = sources.reconciliation;

  metric("tollgate_quota_projection_lag_seconds", "Age of the oldest event received but not yet applied", "gauge", () => {
    const status = runner();
    return status === null ? null : status.lagMs / 1_000;
  });
  metric("tollgate_quota_projection_checkpoint_position", "Log position of the last event whose counts are committed", "gauge", () => {
    const checkpoint = runner()?.checkpoint;
    return checkpoint === null || checkpoint === undefined ? null : Number(checkpoint);
  });
  metric("tollgate_quota_projection_head_position", "Log position of the newest event", "gauge", async () => Number(await sources.head()));
  metric("tollgate_quota_projection_behind_positions", "Log head minus the projector's checkpoint", "gauge", async () => {
    const head = await sources.head();
    const checkpoint = runner()?.checkpoint ?? 0n;
    return Number(head > checkpoint ? head - checkpoint : 0n);
  });
  metric("tollgate_quota_projection_events_total", "Events applied since start", "counter", () => runner()?.eventsHandled ?? 0);
  metric("tollgate_quota_projection_batches_total", "Batches applied since start", "counter", () => runner()?.batchesHandled ?? 0);
  metric("tollgate_quota_projection_consecutive_failures", "Failures since the last batch that was applied", "gauge", () => runner()?.consecutiveFailures ?? 0);

  metric("tollgate_quota_reconcile_refunded_total", "Units given back to Redis counters (requests the plans do not bill)", "counter", () => reconciliation()?.refunded ?? null);
  metric("tollgate_quota_reconcile_charged_total", "Units added to Redis counters for WebSocket sessions billed per message or per minute, beyond the unit taken at the handshake", "counter", () => reconciliation()?.charged ?? null);
  metric("tollgate_quota_reconcile_restored_total", "Units restored to Redis counters that had lost data", "counter", () => reconciliation()?.restored ?? null);
  metric("tollgate_quota_reconcile_errors_total", "Reconciliation runs that failed (Redis unreachable)", "counter", () => reconciliation()?.errors ?? null);
  metric("tollgate_quota_reconcile_pending_counters", "Counters waiting to be reconciled", "gauge", () => reconciliation()?.pending ?? null);
  metric("tollgate_quota_reconcile_staleness_seconds", "Seconds since the last successful reconciliation", "gauge", () => {
    const stats = reconciliation();
    if (stats === null || stats.lastSuccessAt === null) return null;
    return (now() - stats.lastSuccessAt) / 1_000;
  });
}
