import { describe, expect, it } from "vitest";
import { mergeSlices } from "./run-bench.js";
import type { ShapeMeasurement } from "./shape-measurement.js";

function slice(requests: number, durationS: number, p99: number, cpu: number, otherWork: number): ShapeMeasurement {
  return {
    shape: "sat",
    kind: "saturation",
    requests,
    durationS,
    requestsPerSec: requests / durationS,
    latencyUs: { p50: p99 / 4, p90: p99 / 2, p99, p999: p99 * 2, max: p99 * 3 },
    errors: 1,
    non2xx3xx: 0,
    cpuUsPerRequest: cpu,
    upstreamCpuUsPerRequest: cpu / 10,
    otherWorkCores: otherWork,
  };
}

describe("mergeSlices", () => {
  it("sums requests and seconds, weights per-request figures by requests and keeps each slice's rate", () => {
    const merged = mergeSlices([slice(30_000, 2, 4_000, 100, 0.1), slice(10_000, 2, 8_000, 200, 0.3)]);
    expect(merged).toMatchObject({ shape: "sat", kind: "saturation", requests: 40_000, durationS: 4, requestsPerSec: 10_000, errors: 2, non2xx3xx: 0 });
    expect(merged.latencyUs.p99).toBe(5_000);
    expect(merged.latencyUs.max).toBe(24_000);
    expect(merged.cpuUsPerRequest).toBe(125);
    expect(merged.upstreamCpuUsPerRequest).toBe(12.5);
    expect(merged.otherWorkCores).toBeCloseTo(0.2);
    expect(merged.slicesRequestsPerSec).toEqual([15_000, 5_000]);
  });

  it("gives NaN per-request figures when no slice completed a request, rather than a false zero", () => {
    const merged = mergeSlices([slice(0, 2, 0, 0, 0)]);
    expect(merged.requestsPerSec).toBe(0);
    expect(merged.cpuUsPerRequest).toBeNaN();
  });
});
