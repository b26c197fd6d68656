/**
 * Latency percentiles from bucket counts, the same way on ClickHouse and on SQLite.
 *
 * Each request's duration is put in a logarithmic bucket when it is projected
 * (`latencyBucket`); the rollups count requests per bucket, and a percentile is read
 * from the counts (`percentileOfHistogram`). This is the method of DDSketch: with
 * γ = (1 + α) / (1 − α), bucket i holds the durations in (γ^(i−1), γ^i], and it is
 * reported as 2γ^i / (γ + 1). Every duration in the bucket is then within a relative
 * error α of the reported value. The rank is the nearest-rank rank, ceil(p · n): the
 * percentile of the histogram lies in the same bucket as the exact nearest-rank
 * percentile of the raw durations, so the two differ by at most α (relative).
 *
 * Neither engine's own quantile functions are used: ClickHouse's quantile() samples
 * (and differs from run to run past 8,192 values), and SQLite has none.
 */
export const LATENCY_RELATIVE_ACCURACY = 0.01;
const gamma = (1 + LATENCY_RELATIVE_ACCURACY) / (1 - LATENCY_RELATIVE_ACCURACY);
const logGamma = Math.log(gamma);

/** Durations of 0 ms (a cache answering within the clock's resolution) get a bucket of their own, reported as 0. */
export const ZERO_LATENCY_BUCKET = -100_000;
/** Durations below 1 µs are counted as 1 µs. */
const minimumMs = 0.001;

export function latencyBucket(durationMs: number): number {
  if (!(durationMs > 0)) return ZERO_LATENCY_BUCKET;
  return Math.ceil(Math.log(Math.max(durationMs, minimumMs)) / logGamma);
}

export function latencyOfBucket(bucket: number): number {
  if (bucket === ZERO_LATENCY_BUCKET) return 0;
  return (2 * gamma ** bucket) / (gamma + 1);
}

/** A histogram: bucket → count. */
export type LatencyHistogram = Map<number, number>;

export function addToHistogram(histogram: LatencyHistogram, buckets: readonly number[], counts: readonly number[]): void {
  for (let index = 0; index < buckets.length; index += 1) {
    const bucket = buckets[index]!;
    histogram.set(bucket, (histogram.get(bucket) ?? 0) + (counts[index] ?? 0));
  }
}

/** The nearest-rank percentile `p` (0 < p ≤ 1) of the histogram, in ms, rounded to µs; null when it is empty. */
export function percentileOfHistogram(histogram: LatencyHistogram, p: number): number | null {
  let total = 0;
  for (const count of histogram.values()) total += count;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  const ordered = [...histogram.entries()].filter(([, count]) => count > 0).sort(([a], [b]) => a - b);
  let seen = 0;
  for (const [bucket, count] of ordered) {
    seen += count;
    if (seen >= rank) return Math.round(latencyOfBucket(bucket) * 1_000) / 1_000;
  }
  return Math.round(latencyOfBucket(ordered.at(-1)![0]) * 1_000) / 1_000;
}

/** The exact nearest-rank percentile of raw durations: what the histogram's answer is held against. */
export function exactPercentile(durations: readonly number[], p: number): number | null {
  if (durations.length === 0) return null;
  const sorted = [...durations].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1]!;
}
