import type { Registry } from "prom-client";
import { CounterFamily, type CounterSeries } from "../../metrics/metric-family.js";
import type { QuotaDecision, QuotaMetricsSink } from "./quota-limiter.js";

/**
 * Prometheus counters of the quota policy (no subscription label: unbounded cardinality):
 * - tollgate_quota_decisions_total{quota, outcome, decided_by}: `decided_by="insurance",
 *   outcome!="exceeded"` counts requests admitted in memory while Redis was unreachable;
 * - tollgate_quota_store_failures_total.
 */
export class QuotaMetrics implements QuotaMetricsSink {
  readonly #decisions: CounterFamily;
  readonly #failures: CounterSeries;
  readonly #cache = new Map<string, CounterSeries>();

  constructor(registry: Registry) {
    this.#decisions = new CounterFamily("tollgate_quota_decisions_total", "Quota decisions by quota, outcome and who decided", registry);
    this.#failures = new CounterFamily("tollgate_quota_store_failures_total", "Calls to the quota store that failed or timed out", registry).labels({});
  }

  decided(decision: QuotaDecision): void {
    const key = `${decision.name}\0${decision.outcome}\0${decision.decidedBy}`;
    let series = this.#cache.get(key);
    if (series === undefined) {
      series = this.#decisions.labels({ quota: decision.name, outcome: decision.outcome, decided_by: decision.decidedBy });
      this.#cache.set(key, series);
    }
    series.value += 1;
  }

  storeFailed(): void {
    this.#failures.value += 1;
  }
}
