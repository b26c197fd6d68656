import { describe, expect, it } from "vitest";
import type { Arm } from "./arm.js";
import type { ArmRound } from "./arm-round.js";
import { BenchOptionsError, parseBenchOptions } from "./bench-options.js";
import type { BenchSummary, FigureResult, Verdict } from "./bench-report.js";
import { benchExitCode, benchShapes, selectArms } from "./bench-setup.js";

const arm = (key: string, name: string): Arm => ({ key, name, description: name, start: () => Promise.reject(new Error("not started")), stop: () => Promise.resolve({}) });
const all = [arm("A", "direct"), arm("D", "bare-gateway"), arm("L", "traffic-layer")];

describe("selectArms", () => {
  it("takes every arm without --arms, else the named ones in the order named, by key or name in any case", () => {
    expect(selectArms(all, null)).toBe(all);
    expect(selectArms(all, ["traffic-layer", "a"]).map((a) => a.key)).toEqual(["L", "A"]);
  });

  it("refuses an unknown arm, listing the known ones", () => {
    expect(() => selectArms(all, ["Z"])).toThrow(BenchOptionsError);
    expect(() => selectArms(all, ["Z"])).toThrow(/A=direct, D=bare-gateway, L=traffic-layer/);
  });
});

describe("benchShapes", () => {
  it("runs the open loop before saturation and shows saturation first", () => {
    const options = parseBenchOptions(["--duration", "4", "--rate", "500", "--connections", "20"], {}, () => "");
    const { shapes, displayShapes } = benchShapes(options);
    expect(shapes.map((s) => s.name)).toEqual(["rate", "sat"]);
    expect(displayShapes.map((s) => s.name)).toEqual(["sat", "rate"]);
    expect(shapes[0]).toMatchObject({ kind: "open-loop", rate: 500, durationS: 4 });
    expect(shapes[1]).toMatchObject({ kind: "saturation", connections: 20, durationS: 4 });
  });
});

describe("benchExitCode", () => {
  const figure = (verdict: Verdict): FigureResult => ({ label: "x", perRound: [1], value: 1, unit: "x", verdict, roundsPassing: verdict === "PASS" ? 1 : 0 });
  const summary = (figureVerdict: Verdict, eventLog: Verdict): BenchSummary => ({
    baseline: "A",
    otherWork: { medianCores: 0, maxCores: 0 },
    arms: [],
    comparisons: [figure(figureVerdict)],
    thresholds: [],
    eventLog: { checks: [], verdict: eventLog },
  });
  const round = (error: string | null): ArmRound => ({
    round: 1,
    position: 0,
    arm: "D",
    name: "bare-gateway",
    loadAverage: 0,
    measurements: {},
    peakRssKb: 0,
    clientCompleted: 0,
    clientSentUpperBound: 0,
    upstreamServed: null,
    stop: null,
    error,
  });

  it("is 1 when an arm failed, strict or not", () => {
    expect(benchExitCode([round(null), round("boom")], summary("PASS", "PASS"), false)).toBe(1);
  });

  it("fails a missed target or event-log check only with --strict", () => {
    expect(benchExitCode([round(null)], summary("FAIL", "PASS"), false)).toBe(0);
    expect(benchExitCode([round(null)], summary("FAIL", "PASS"), true)).toBe(1);
    expect(benchExitCode([round(null)], summary("PASS", "FAIL"), true)).toBe(1);
    expect(benchExitCode([round(null)], summary("PASS", "n/a"), true)).toBe(0);
  });
});
