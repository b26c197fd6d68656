import { describe, expect, it } from "vitest";
import type { ArmRound } from "./arm-round.js";
import { checkEventLog } from "./event-log-check.js";
import { healthProbesAtMost, healthProbesDetailKey, withHealthProbesDiscounted } from "./health-probe-allowance.js";

function round(upstreamServed: number | null, detail: Record<string, unknown> | undefined): ArmRound {
  return {
    round: 1,
    position: 2,
    arm: "L",
    name: "traffic-layer",
    loadAverage: 0,
    measurements: {},
    peakRssKb: 0,
    clientCompleted: 1_000,
    clientSentUpperBound: 1_050,
    upstreamServed,
    stop: { requestEvents: 1_010, ...(detail ? { detail } : {}) },
    error: null,
  };
}

describe("healthProbesAtMost", () => {
  it("counts one probe per target per whole interval of the lifetime", () => {
    expect(healthProbesAtMost(0, 1_000, 3)).toBe(0);
    expect(healthProbesAtMost(999, 1_000, 3)).toBe(0);
    expect(healthProbesAtMost(1_000, 1_000, 3)).toBe(3);
    expect(healthProbesAtMost(12_500, 1_000, 3)).toBe(36);
  });

  it("is NaN for a lifetime or interval that makes no sense", () => {
    expect(healthProbesAtMost(Number.NaN, 1_000, 3)).toBeNaN();
    expect(healthProbesAtMost(1_000, 0, 3)).toBeNaN();
  });
});

describe("withHealthProbesDiscounted", () => {
  it("lets the event-log check pass when the upstream's surplus is within the probes", () => {
    const raw = round(1_040, { [healthProbesDetailKey]: 36 });
    expect(checkEventLog(raw)?.ok).toBe(false);
    const discounted = withHealthProbesDiscounted(raw);
    expect(discounted.upstreamServed).toBe(1_004);
    expect(checkEventLog(discounted)?.ok).toBe(true);
    expect(raw.upstreamServed).toBe(1_040);
  });

  it("still fails when the upstream served more than the probes can explain", () => {
    expect(checkEventLog(withHealthProbesDiscounted(round(1_050, { [healthProbesDetailKey]: 36 })))?.ok).toBe(false);
  });

  it("leaves rounds without an allowance or without an upstream count alone", () => {
    const plain = round(1_010, undefined);
    expect(withHealthProbesDiscounted(plain)).toBe(plain);
    const unknown = round(null, { [healthProbesDetailKey]: 36 });
    expect(withHealthProbesDiscounted(unknown)).toBe(unknown);
    const nan = round(1_040, { [healthProbesDetailKey]: Number.NaN });
    expect(withHealthProbesDiscounted(nan)).toBe(nan);
  });
});
