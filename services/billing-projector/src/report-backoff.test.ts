import { describe, expect, it } from "vitest";
import { reportBackoffDelay } from "./report-backoff.js";

describe("reportBackoffDelay", () => {
  const backoff = { initialMs: 500, maxMs: 60_000 };

  it("doubles from initialMs up to maxMs, half of it fixed and half jitter", () => {
    expect([1, 2, 3, 4, 8, 9, 20].map((failures) => reportBackoffDelay(failures, backoff, () => 1))).toEqual([500, 1_000, 2_000, 4_000, 60_000, 60_000, 60_000]);
    expect([1, 2, 3, 4, 8].map((failures) => reportBackoffDelay(failures, backoff, () => 0))).toEqual([250, 500, 1_000, 2_000, 30_000]);
    expect(reportBackoffDelay(3, backoff, () => 0.5)).toBe(1_500);
  });

  it("waits nothing before any failure, and never overflows", () => {
    expect(reportBackoffDelay(0, backoff)).toBe(0);
    expect(reportBackoffDelay(10_000, backoff, () => 1)).toBe(60_000);
  });
});
