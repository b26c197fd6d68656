import { describe, expect, it } from "vitest";
import type { ArmRound } from "./arm-round.js";
import { comparisonValues, formatSummary, formatVerdict, summarizeBench, verdictOf, type Comparison, type Threshold } from "./bench-report.js";
import type { LoadShape } from "./load-shape.js";
import type { ShapeMeasurement } from "./shape-measurement.js";

function measurement(shape: string, rps: number, p99Us: number, cpu: number, serviceP99Us = p99Us / 2): ShapeMeasurement {
  return {
    shape,
    kind: shape === "sat" ? "saturation" : "open-loop",
    requests: rps * 10,
    durationS: 10,
    requestsPerSec: rps,
    latencyUs: { p50: p99Us / 4, p90: p99Us / 2, p99: p99Us, p999: p99Us * 2, max: p99Us * 3 },
    errors: 0,
    non2xx3xx: 0,
    cpuUsPerRequest: cpu,
    upstreamCpuUsPerRequest: Number.NaN,
    otherWorkCores: 0.1,
    ...(shape === "rate"
      ? {
          openLoop: {
            scheduled: rps * 10,
            achievedRate: rps,
            sendLagUs: { p50: 100, p99: 300 },
            serviceTimeUs: { p50: 80, p99: serviceP99Us },
            maxOutstanding: 3,
            slowestAtS: 1.5,
            generatorCpuPercent: 30,
          },
        }
      : {}),
  };
}

function round(r: number, arm: string, satRps: number, rateP99Us: number, extra: Partial<ArmRound> = {}): ArmRound {
  return {
    round: r,
    position: 0,
    arm,
    name: arm.toLowerCase(),
    loadAverage: 1,
    measurements: { sat: measurement("sat", satRps, 2_000, 40), rate: measurement("rate", 2_000, rateP99Us, 100) },
    peakRssKb: 100 * 1024,
    clientCompleted: 1000,
    clientSentUpperBound: 1050,
    upstreamServed: null,
    stop: null,
    error: null,
    ...extra,
  };
}

const shapes: LoadShape[] = [
  { kind: "saturation", name: "sat", connections: 50, threads: 1, durationS: 10 },
  { kind: "open-loop", name: "rate", rate: 2000, connections: 50, durationS: 10, warmupS: 1 },
];
const arms = [
  { key: "A", name: "direct" },
  { key: "B", name: "undici" },
  { key: "D", name: "tollgate" },
];

// Three rounds; the machine was slow in round 2 for everyone.
const rounds: ArmRound[] = [
  round(1, "A", 60_000, 500),
  round(1, "B", 20_000, 800),
  round(1, "D", 16_000, 1_100),
  round(2, "A", 30_000, 2_500),
  round(2, "B", 10_000, 2_900),
  round(2, "D", 7_000, 3_400),
  round(3, "A", 58_000, 600),
  round(3, "B", 19_000, 900),
  round(3, "D", 15_000, 1_200, { peakRssKb: 150 * 1024 }),
];

const ratio: Comparison = { label: "D/B", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "D", b: "B", unit: "x", target: { op: ">=", value: 0.75 } };
const added: Comparison = { label: "D-A p99", kind: "difference", shape: "rate", metric: "p99Us", a: "D", b: "A", unit: "ms", target: { op: "<", value: 1 } };
const rss: Threshold = { label: "D RSS", arm: "D", figure: { kind: "peakRssMb" }, unit: "MB", target: { op: "<", value: 200 } };

describe("comparisonValues", () => {
  it("pairs the two arms within each round", () => {
    expect(comparisonValues(rounds, ratio)).toEqual([0.8, 0.7, 15 / 19]);
    expect(comparisonValues(rounds, added)).toEqual([0.6, 0.9, 0.6]);
  });

  it("skips rounds in which either arm failed", () => {
    const withFailure = rounds.map((r) => (r.round === 2 && r.arm === "B" ? { ...r, error: "boom" } : r));
    expect(comparisonValues(withFailure, ratio)).toEqual([0.8, 15 / 19]);
  });
});

describe("summarizeBench", () => {
  const summary = summarizeBench(rounds, arms, shapes, "A", [ratio, added], [rss]);

  it("takes medians over rounds per arm and shape", () => {
    const d = summary.arms.find((a) => a.arm === "D")!;
    expect(d.roundsMeasured).toBe(3);
    expect(d.shapes.sat!.requestsPerSec).toBe(15_000);
    expect(d.shapes.rate!.p99Us).toBe(1_200);
    expect(d.shapes.rate!.addedP99Us).toBeCloseTo(600, 9);
    expect(d.shapes.rate!.sendLagP99Us).toBe(300);
    expect(summary.arms.find((a) => a.arm === "A")!.shapes.rate!.addedP99Us).toBe(0);
  });

  it("gives each comparison the median of its per-round values, and a verdict", () => {
    const [r, a] = summary.comparisons;
    expect(r!.value).toBeCloseTo(15 / 19, 9);
    expect(r!.verdict).toBe("PASS");
    expect(a!.value).toBeCloseTo(0.6, 9);
    expect(a!.verdict).toBe("PASS");
  });

  it("uses the maximum over rounds for peak RSS", () => {
    expect(summary.thresholds[0]!.value).toBe(150);
    expect(summary.thresholds[0]!.verdict).toBe("PASS");
  });

  it("leaves out comparisons of arms that did not run, and has no event-log verdict without an event log", () => {
    const onlyAB = summarizeBench(rounds, arms.slice(0, 2), shapes, "A", [ratio, added], [rss]);
    expect(onlyAB.comparisons).toEqual([]);
    expect(onlyAB.thresholds).toEqual([]);
    expect(onlyAB.eventLog.verdict).toBe("n/a");
  });

  it("fails the event-log check when a round lost an event", () => {
    const withLog = rounds.map((r) => (r.arm === "D" ? { ...r, stop: { requestEvents: r.round === 3 ? 999 : 1020 } } : r));
    const result = summarizeBench(withLog, arms, shapes, "A", [], []);
    expect(result.eventLog.checks.map((c) => c.ok)).toEqual([true, true, false]);
    expect(result.eventLog.verdict).toBe("FAIL");
  });

  it("summarizes the other work on the machine, and warns when it was busy", () => {
    expect(summary.otherWork).toEqual({ medianCores: 0.1, maxCores: 0.1 });
    expect(formatSummary(summary, shapes)).not.toContain("WARNING");
    const busy = rounds.map((r) => (r.round === 2 ? { ...r, measurements: { ...r.measurements, sat: { ...r.measurements.sat!, otherWorkCores: 1.2 } } } : r));
    const text = formatSummary(summarizeBench(busy, arms, shapes, "A", [], []), shapes);
    expect(text).toContain("median 0.10 cores, max 1.20 cores");
    expect(text).toContain("WARNING: other processes competed");
  });

  it("formats a table with one row per arm and the verdicts", () => {
    const text = formatSummary(summary, shapes);
    expect(text).toMatch(/^D\s+tollgate\s+15000\s+0\.50\s+2\.00\s+40\.0\s+0\.30\s+1\.20\s+\+0\.60\s+100\.0\s+150\.0\s+3$/m);
    expect(text).toMatch(/D\/B\s+0\.789\s+0\.800 0\.700 0\.789\s+>= 0\.75\s+PASS/);
    expect(text).toMatch(/D RSS\s+150\.0 MB\s+100\.0 100\.0 150\.0\s+< 200 MB\s+PASS/);
  });
});

describe("formatVerdict", () => {
  it("says when the rounds disagree with the median's verdict", () => {
    const noisy = summarizeBench(
      rounds.map((r) => (r.round === 2 && r.arm === "D" ? { ...r, measurements: { ...r.measurements, sat: measurement("sat", 3_000, 2_000, 40) } } : r)),
      arms,
      shapes,
      "A",
      [ratio, { ...ratio, label: "low", target: { op: ">=", value: 0.5 } }],
      [],
    );
    expect(noisy.comparisons[0]!.roundsPassing).toBe(2);
    expect(formatVerdict(noisy.comparisons[0]!)).toBe("PASS (rounds disagree: 2/3 pass)");
    expect(formatVerdict(noisy.comparisons[1]!)).toBe("PASS (rounds disagree: 2/3 pass)");
    const firm = summarizeBench(rounds, arms, shapes, "A", [{ ...ratio, target: { op: ">=", value: 0.5 } }], []);
    expect(formatVerdict(firm.comparisons[0]!)).toBe("PASS");
    const failing = summarizeBench(rounds, arms, shapes, "A", [{ ...ratio, target: { op: ">=", value: 0.9 } }], []);
    expect(formatVerdict(failing.comparisons[0]!)).toBe("FAIL");
  });
});

describe("verdictOf", () => {
  it("compares against the target, and fails what could not be measured", () => {
    expect(verdictOf(0.75, { op: ">=", value: 0.75 })).toBe("PASS");
    expect(verdictOf(0.7499, { op: ">=", value: 0.75 })).toBe("FAIL");
    expect(verdictOf(1, { op: "<", value: 1 })).toBe("FAIL");
    expect(verdictOf(1, { op: "<=", value: 1 })).toBe("PASS");
    expect(verdictOf(Number.NaN, { op: "<", value: 1 })).toBe("FAIL");
    expect(verdictOf(5, undefined)).toBe("n/a");
  });
});
