import type { Registry } from "prom-client";
import { CounterFamily, type CounterSeries } from "../../metrics/metric-family.js";
import type { RateLimitDecision, RateLimitMetricsSink } from "./multi-limiter.js";

/**
 * Prometheus counters of the rate limit policy:
 * - tollgate_rate_limit_decisions_total{route, outcome, decided_by}: every decision.
 *   `decided_by="insurance", outcome="admitted"` counts the requests admitted in memory
 *   while Redis was unreachable: the possible overshoot of the shared limits.
 * - tollgate_rate_limit_rejections_total{route, limit}: 429s by the limit that fired.
 * - tollgate_rate_limit_store_failures_total: failed or timed-out calls to the store.
 */
export class RateLimitMetrics implements RateLimitMetricsSink {
  readonly #decisions: CounterFamily;
  readonly #rejections: CounterFamily;
  readonly #failures: CounterSeries;
  /** Series handles by label values, so a decision costs one Map lookup per counter. */
  readonly #cache = new Map<string, CounterSeries>();

  constructor(registry: Registry) {
    this.#decisions = new CounterFamily("tollgate_rate_limit_decisions_total", "Rate limit decisions by route, outcome and who decided", registry);
    this.#rejections = new CounterFamily("tollgate_rate_limit_rejections_total", "Requests refused by a rate limit, by route and the limit that fired", registry);
    this.#failures = new CounterFamily("tollgate_rate_limit_store_failures_total", "Calls to the rate limit store that failed or timed out", registry).labels({});
  }

  decided(routeId: string, decision: RateLimitDecision): void {
    this.#series(this.#decisions, `d\0${routeId}\0${decision.outcome}\0${decision.decidedBy}`, {
      route: routeId,
      outcome: decision.outcome,
      decided_by: decision.decidedBy,
    }).value += 1;
    if (decision.limit !== null) this.#series(this.#rejections, `r\0${routeId}\0${decision.limit}`, { route: routeId, limit: decision.limit }).value += 1;
  }

  storeFailed(): void {
    this.#failures.value += 1;
  }

  #series(family: CounterFamily, key: string, labels: Record<string, string>): CounterSeries {
    let series = this.#cache.get(key);
    if (series === undefined) {
      series = family.labels(labels);
      this.#cache.set(key, series);
    }
    return series;
  }
}
