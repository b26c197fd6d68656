import { describe, expect, it } from "vitest";
import { addToHistogram, exactPercentile, LATENCY_RELATIVE_ACCURACY, latencyBucket, latencyOfBucket, percentileOfHistogram, ZERO_LATENCY_BUCKET } from "./latency-histogram.js";

function histogramOf(durations: readonly number[]): Map<number, number> {
  const histogram = new Map<number, number>();
  addToHistogram(histogram, durations.map(latencyBucket), durations.map(() => 1));
  return histogram;
}

describe("latency histogram", () => {
  it("reports every duration within the stated relative accuracy of its bucket", () => {
    for (let ms = 0.0011; ms < 100_000; ms *= 1.37) {
      const reported = latencyOfBucket(latencyBucket(ms));
      expect(Math.abs(reported - ms) / ms).toBeLessThanOrEqual(LATENCY_RELATIVE_ACCURACY + 1e-9);
    }
  });

  it("gives zero its own bucket", () => {
    expect(latencyBucket(0)).toBe(ZERO_LATENCY_BUCKET);
    expect(latencyOfBucket(ZERO_LATENCY_BUCKET)).toBe(0);
  });

  it("agrees with the exact nearest-rank percentiles of the raw durations", () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    const durations = Array.from({ length: 5_000 }, () => Math.exp(random() * 8) * 0.1);
    durations.push(0, 0, 0);
    const histogram = histogramOf(durations);
    for (const p of [0.5, 0.95, 0.99, 0.001, 1]) {
      const exact = exactPercentile(durations, p)!;
      const estimated = percentileOfHistogram(histogram, p)!;
      expect(Math.abs(estimated - exact)).toBeLessThanOrEqual(exact * LATENCY_RELATIVE_ACCURACY + 0.001);
    }
  });

  it("is null on an empty histogram", () => {
    expect(percentileOfHistogram(new Map(), 0.5)).toBeNull();
    expect(exactPercentile([], 0.5)).toBeNull();
  });
});
