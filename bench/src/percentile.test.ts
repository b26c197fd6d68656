import { describe, expect, it } from "vitest";
import { median, percentile, summarizeLatencies } from "./percentile.js";

describe("percentile (nearest rank)", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it("returns observed values at rank ceil(p*n)", () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 99.9)).toBe(100);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
  });

  it("handles small and odd-sized inputs", () => {
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 51)).toBe(3);
    expect(percentile([], 50)).toBeNaN();
  });

  it("puts an unfinished request (Infinity) in the tail", () => {
    const values = [...Array.from({ length: 99 }, () => 1), Number.POSITIVE_INFINITY];
    const summary = summarizeLatencies(values);
    expect(summary.p99).toBe(1);
    expect(summary.p999).toBe(Number.POSITIVE_INFINITY);
    expect(summary.max).toBe(Number.POSITIVE_INFINITY);
  });

  it("rejects percentiles outside 0..100", () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe("summarizeLatencies", () => {
  it("sorts numerically, not lexically", () => {
    const summary = summarizeLatencies([10, 9, 100, 2, 1]);
    expect(summary).toEqual({ count: 5, p50: 9, p90: 100, p99: 100, p999: 100, max: 100 });
  });

  it("does not reorder its input", () => {
    const input = [3, 1, 2];
    summarizeLatencies(input);
    expect(input).toEqual([3, 1, 2]);
  });
});

describe("median", () => {
  it("takes the middle value, or the mean of the two middle values", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(median([Number.NaN, 5])).toBe(5);
  });
});
