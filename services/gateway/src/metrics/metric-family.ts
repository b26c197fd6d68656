import type { Metric, Registry } from "prom-client";

/** What the registry reads from a metric (prom-client's typings of it are inaccurate: `type` is a string). */
interface ExposedMetric {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  values: ExposedValue[];
}

interface ExposedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * Counters and histograms that the request path updates with plain arithmetic.
 *
 * prom-client's own label children re-validate and re-hash their labels on every
 * inc() and observe(), which allocates on every request. Here each series is a
 * plain object created once per label set (per route and status, at config load or
 * on the first response with a new status), and the request path only adds to its
 * numbers. The registry reads them when /metrics is scraped, through the same
 * get() protocol prom-client's own metrics implement, so the exposition format,
 * default labels and JSON output are prom-client's.
 */
abstract class MetricFamily<S> {
  readonly aggregator = "sum" as const;
  protected readonly series = new Map<string, { labels: Record<string, string>; series: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "histogram",
    registry: Registry,
  ) {
    // prom-client types registerMetric() with its own classes; the registry itself
    // only calls name, help, type, aggregator, get() and reset().
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series for these labels, created on first use. Keep the result: it is the hot-path handle. */
  labels(labels: Record<string, string>): S {
    const key = JSON.stringify(labels);
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, series: this.create() };
      this.series.set(key, entry);
    }
    return entry.series;
  }

  protected abstract create(): S;

  abstract get(): Promise<ExposedMetric>;

  abstract reset(): void;
}

export class CounterSeries {
  value = 0;
}

export class CounterFamily extends MetricFamily<CounterSeries> {
  constructor(name: string, help: string, registry: Registry) {
    super(name, help, "counter", registry);
  }

  protected create(): CounterSeries {
    return new CounterSeries();
  }

  get(): Promise<ExposedMetric> {
    const values = [...this.series.values()].map(({ labels, series }) => ({ labels, value: series.value, metricName: this.name }));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    for (const { series } of this.series.values()) series.value = 0;
  }
}

export class HistogramSeries {
  /** Non-cumulative count per bucket; the last slot is above the highest bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let index = 0;
    while (index < bounds.length && value > (bounds[index] as number)) index++;
    (this.counts[index] as number)++;
    this.sum += value;
    this.count++;
  }
}

export class HistogramFamily extends MetricFamily<HistogramSeries> {
  constructor(
    name: string,
    help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, "histogram", registry);
  }

  protected create(): HistogramSeries {
    return new HistogramSeries(this.bounds);
  }

  get(): Promise<ExposedMetric> {
    const values: ExposedValue[] = [];
    for (const { labels, series } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, index) => {
        cumulative += series.counts[index] as number;
        values.push({ labels: { ...labels, le: bound }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...labels, le: "+Inf" }, value: series.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: series.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    for (const { series } of this.series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
