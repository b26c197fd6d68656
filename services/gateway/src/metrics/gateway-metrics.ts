import { Gauge, type Registry } from "prom-client";
import { CounterFamily, HistogramFamily, type CounterSeries, type HistogramSeries } from "./metric-family.js";

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Route label of requests that matched no route; route ids cannot contain parentheses. */
export const unmatchedRouteLabel = "(none)";

interface StatusSeries {
  readonly requests: CounterSeries;
  readonly duration: HistogramSeries;
}

/**
 * The metrics of one route, resolved when the route is compiled. A series per
 * status is created on the first response with that status and kept, so the
 * request path does one Map lookup and a few additions.
 */
export class RouteMetrics {
  private readonly byStatus = new Map<number, StatusSeries>();
  private readonly upstreamLatency: HistogramSeries;

  constructor(
    private readonly metrics: GatewayMetrics,
    readonly route: string,
  ) {
    this.upstreamLatency = metrics.upstreamLatency.labels({ route });
  }

  observe(status: number, durationSeconds: number): void {
    let series = this.byStatus.get(status);
    if (series === undefined) {
      const labels = { route: this.route, status: String(status) };
      series = { requests: this.metrics.requests.labels(labels), duration: this.metrics.duration.labels(labels) };
      this.byStatus.set(status, series);
    }
    series.requests.value++;
    series.duration.observe(durationSeconds);
  }

  observeUpstream(latencySeconds: number): void {
    this.upstreamLatency.observe(latencySeconds);
  }
}

export class GatewayMetrics {
  readonly requests: CounterFamily;
  readonly duration: HistogramFamily;
  readonly upstreamLatency: HistogramFamily;
  readonly inFlight: Gauge;
  private readonly routes = new Map<string, RouteMetrics>();

  constructor(registry: Registry, inFlight: () => number) {
    this.requests = new CounterFamily("tollgate_requests_total", "Requests answered, by route and status", registry);
    this.duration = new HistogramFamily(
      "tollgate_request_duration_seconds",
      "Time from receiving the request head to the last byte sent, by route and status",
      latencyBuckets,
      registry,
    );
    this.upstreamLatency = new HistogramFamily(
      "tollgate_upstream_latency_seconds",
      "Time from sending the request upstream to receiving its response head, by route",
      latencyBuckets,
      registry,
    );
    this.inFlight = new Gauge({
      name: "tollgate_requests_in_flight",
      help: "Requests received and not yet answered",
      registers: [registry],
      // Read at scrape time rather than inc/dec on every request.
      collect() {
        this.set(inFlight());
      },
    });
  }

  forRoute(route: string | null): RouteMetrics {
    const label = route ?? unmatchedRouteLabel;
    let metrics = this.routes.get(label);
    if (metrics === undefined) {
      metrics = new RouteMetrics(this, label);
      this.routes.set(label, metrics);
    }
    return metrics;
  }
}
