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
  /**
   * Series handles by route, then outcome and who decided (or the limit that fired), so
   * a decision costs a few Map lookups and builds no key string.
   */
  readonly #decisionSeries = new Map<string, Map<string, Map<string, CounterSeries>>>();
  readonly #rejectionSeries = new Map<string, Map<string, CounterSeries>>();

  constructor(registry: Registry) {
    this.#decisions = new CounterFamily("tollgate_rate_limit_decisions_total", "Rate limit decisions by route, outcome and who decided", registry);
    this.#rejections = new CounterFamily("tollgate_rate_limit_rejections_total", "Requests refused by a rate limit, by route and the limit that fired", registry);
    this.#failures = new CounterFamily("tollgate_rate_limit_store_failures_total", "Calls to the rate limit store that failed or timed out", registry).labels({});
  }

  decided(routeId: string, decision: RateLimitDecision): void {
    const { outcome, decidedBy, limit } = decision;
    const byOutcome = mapIn(this.#decisionSeries, routeId);
    const byDecider = mapIn(byOutcome, outcome);
    let series = byDecider.get(decidedBy);
    if (series === undefined) {
      series = this.#decisions.labels({ route: routeId, outcome, decided_by: decidedBy });
      byDecider.set(decidedBy, series);
    }
    series.value += 1;
    if (limit === null) return;
    const byLimit = mapIn(this.#rejectionSeries, routeId);
    let rejections = byLimit.get(limit);
    if (rejections === undefined) {
      rejections = this.#rejections.labels({ route: routeId, limit });
      byLimit.set(limit, rejections);
    }
    rejections.value += 1;
  }

  storeFailed(): void {
    this.#failures.value += 1;
  }
}

/** The inner map of `outer` at `key`, created on first use. */
function mapIn<Value>(outer: Map<string, Map<string, Value>>, key: string): Map<string, Value> {
  let inner = outer.get(key);
  if (inner === undefined) {
    inner = new Map();
    outer.set(key, inner);
  }
  return inner;
}
