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
  /** Series handles by quota, outcome and who decided, so a decision costs three Map lookups and builds no key string. */
  readonly #series = new Map<string, Map<string, Map<string, CounterSeries>>>();

  constructor(registry: Registry) {
    this.#decisions = new CounterFamily("tollgate_quota_decisions_total", "Quota decisions by quota, outcome and who decided", registry);
    this.#failures = new CounterFamily("tollgate_quota_store_failures_total", "Calls to the quota store that failed or timed out", registry).labels({});
  }

  decided(decision: QuotaDecision): void {
    const { name, outcome, decidedBy } = decision;
    let byOutcome = this.#series.get(name);
    if (byOutcome === undefined) {
      byOutcome = new Map();
      this.#series.set(name, byOutcome);
    }
    let byDecider = byOutcome.get(outcome);
    if (byDecider === undefined) {
      byDecider = new Map();
      byOutcome.set(outcome, byDecider);
    }
    let series = byDecider.get(decidedBy);
    if (series === undefined) {
      series = this.#decisions.labels({ quota: name, outcome, decided_by: decidedBy });
      byDecider.set(decidedBy, series);
    }
    series.value += 1;
  }

  storeFailed(): void {
    this.#failures.value += 1;
  }
}
