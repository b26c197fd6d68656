import type { ArmRound } from "./arm-round.js";
import { checkEventLog, type EventLogCheck } from "./event-log-check.js";
import type { LoadShape } from "./load-shape.js";
import { median } from "./percentile.js";
import type { ShapeMeasurement } from "./shape-measurement.js";

/** serviceP99Us: open loop only, p99 measured from the actual send instead of the scheduled one (the generator's lag left out). */
export type Metric = "requestsPerSec" | "p50Us" | "p99Us" | "serviceP99Us" | "cpuUsPerRequest";

export interface Target {
  op: ">=" | "<" | "<=";
  value: number;
}

/** A figure derived from two arms measured in the same round: a ratio a/b or a difference a-b; the median over rounds is reported. */
export interface Comparison {
  label: string;
  kind: "ratio" | "difference";
  shape: string;
  metric: Metric;
  a: string;
  b: string;
  /** Display unit of the value; differences of latencies are shown in ms. */
  unit: "x" | "ms";
  target?: Target;
}

/** A ceiling or floor on one arm's own figure. */
export interface Threshold {
  label: string;
  arm: string;
  /** Peak RSS (max over rounds), or a metric of a shape (median over rounds). */
  figure: { kind: "peakRssMb" } | { kind: "metric"; shape: string; metric: Metric };
  unit: string;
  target: Target;
}

export type Verdict = "PASS" | "FAIL" | "n/a";

export interface FigureResult {
  label: string;
  /** One value per round in which both arms were measured. */
  perRound: number[];
  value: number;
  unit: string;
  target?: Target;
  verdict: Verdict;
  /** Rounds whose own value meets the target (with a target only): a verdict that not every round agrees with is noise-prone. */
  roundsPassing: number;
}

export interface ShapeSummary {
  requestsPerSec: number;
  p50Us: number;
  p99Us: number;
  /** Median over rounds of (this arm's p99 - the baseline arm's p99 in the same round). */
  addedP99Us: number;
  cpuUsPerRequest: number;
  upstreamCpuUsPerRequest: number;
  errors: number;
  non2xx3xx: number;
  /** Open loop: p99 of the generator's own send lag (its share of the latency). */
  sendLagP99Us: number;
}

export interface ArmSummary {
  arm: string;
  name: string;
  roundsMeasured: number;
  errors: string[];
  shapes: Record<string, ShapeSummary>;
  peakRssKbMax: number;
}

export interface BenchSummary {
  baseline: string;
  /** Cores used by other work during the measurements: median and maximum over all of them. */
  otherWork: { medianCores: number; maxCores: number };
  arms: ArmSummary[];
  comparisons: FigureResult[];
  thresholds: FigureResult[];
  eventLog: { checks: EventLogCheck[]; verdict: Verdict };
}

export function metricOf(measurement: ShapeMeasurement, metric: Metric): number {
  switch (metric) {
    case "requestsPerSec":
      return measurement.requestsPerSec;
    case "p50Us":
      return measurement.latencyUs.p50;
    case "p99Us":
      return measurement.latencyUs.p99;
    case "serviceP99Us":
      return measurement.openLoop?.serviceTimeUs.p99 ?? Number.NaN;
    case "cpuUsPerRequest":
      return measurement.cpuUsPerRequest;
  }
}

export function verdictOf(value: number, target: Target | undefined): Verdict {
  if (target === undefined) return "n/a";
  if (Number.isNaN(value)) return "FAIL";
  switch (target.op) {
    case ">=":
      return value >= target.value ? "PASS" : "FAIL";
    case "<":
      return value < target.value ? "PASS" : "FAIL";
    case "<=":
      return value <= target.value ? "PASS" : "FAIL";
  }
}

function byRound(rounds: readonly ArmRound[], arm: string): Map<number, ArmRound> {
  return new Map(rounds.filter((r) => r.arm === arm && r.error === null).map((r) => [r.round, r]));
}

/** Per-round values of a comparison, in round order; rounds where either arm failed are skipped. */
export function comparisonValues(rounds: readonly ArmRound[], comparison: Comparison): number[] {
  const a = byRound(rounds, comparison.a);
  const b = byRound(rounds, comparison.b);
  const values: number[] = [];
  for (const [round, ra] of [...a].sort(([x], [y]) => x - y)) {
    const ma = ra.measurements[comparison.shape];
    const mb = b.get(round)?.measurements[comparison.shape];
    if (!ma || !mb) continue;
    const va = metricOf(ma, comparison.metric);
    const vb = metricOf(mb, comparison.metric);
    const raw = comparison.kind === "ratio" ? va / vb : va - vb;
    values.push(comparison.unit === "ms" ? raw / 1_000 : raw);
  }
  return values;
}

function summarizeArm(rounds: readonly ArmRound[], arm: string, name: string, shapes: readonly LoadShape[], baseline: string): ArmSummary {
  const mine = rounds.filter((r) => r.arm === arm);
  const ok = mine.filter((r) => r.error === null);
  const base = byRound(rounds, baseline);
  const summary: ArmSummary = {
    arm,
    name,
    roundsMeasured: ok.length,
    errors: mine.filter((r) => r.error !== null).map((r) => `round ${r.round}: ${r.error}`),
    shapes: {},
    peakRssKbMax: ok.length === 0 ? Number.NaN : Math.max(...ok.map((r) => r.peakRssKb)),
  };
  for (const shape of shapes) {
    const ms = ok.map((r) => r.measurements[shape.name]).filter((m): m is ShapeMeasurement => m !== undefined);
    const added = ok
      .map((r) => {
        const own = r.measurements[shape.name];
        const other = base.get(r.round)?.measurements[shape.name];
        return own && other ? own.latencyUs.p99 - other.latencyUs.p99 : Number.NaN;
      })
      .filter((v) => !Number.isNaN(v));
    summary.shapes[shape.name] = {
      requestsPerSec: median(ms.map((m) => m.requestsPerSec)),
      p50Us: median(ms.map((m) => m.latencyUs.p50)),
      p99Us: median(ms.map((m) => m.latencyUs.p99)),
      addedP99Us: median(added),
      cpuUsPerRequest: median(ms.map((m) => m.cpuUsPerRequest)),
      upstreamCpuUsPerRequest: median(ms.map((m) => m.upstreamCpuUsPerRequest)),
      errors: ms.reduce((sum, m) => sum + m.errors, 0),
      non2xx3xx: ms.reduce((sum, m) => sum + m.non2xx3xx, 0),
      sendLagP99Us: median(ms.map((m) => m.openLoop?.sendLagUs.p99 ?? Number.NaN)),
    };
  }
  return summary;
}

function thresholdValues(rounds: readonly ArmRound[], threshold: Threshold): { perRound: number[]; value: number } {
  const ok = rounds.filter((r) => r.arm === threshold.arm && r.error === null).sort((x, y) => x.round - y.round);
  if (threshold.figure.kind === "peakRssMb") {
    const perRound = ok.map((r) => r.peakRssKb / 1024);
    return { perRound, value: perRound.length === 0 ? Number.NaN : Math.max(...perRound) };
  }
  const { shape, metric } = threshold.figure;
  const perRound = ok.map((r) => r.measurements[shape]).filter((m): m is ShapeMeasurement => m !== undefined).map((m) => metricOf(m, metric));
  return { perRound, value: median(perRound) };
}

/** Medians over rounds for every arm and shape, the comparisons and thresholds with their verdicts, and the event-log check. */
export function summarizeBench(
  rounds: readonly ArmRound[],
  arms: readonly { key: string; name: string }[],
  shapes: readonly LoadShape[],
  baseline: string,
  comparisons: readonly Comparison[],
  thresholds: readonly Threshold[],
): BenchSummary {
  const comparisonResults = comparisons
    .filter((c) => arms.some((a) => a.key === c.a) && arms.some((a) => a.key === c.b))
    .map((c): FigureResult => {
      const perRound = comparisonValues(rounds, c);
      const value = median(perRound);
      return {
        label: c.label,
        perRound,
        value,
        unit: c.unit,
        ...(c.target ? { target: c.target } : {}),
        verdict: verdictOf(value, c.target),
        roundsPassing: perRound.filter((v) => verdictOf(v, c.target) === "PASS").length,
      };
    });
  const thresholdResults = thresholds
    .filter((t) => arms.some((a) => a.key === t.arm))
    .map((t): FigureResult => {
      const { perRound, value } = thresholdValues(rounds, t);
      return {
        label: t.label,
        perRound,
        value,
        unit: t.unit,
        target: t.target,
        verdict: verdictOf(value, t.target),
        roundsPassing: perRound.filter((v) => verdictOf(v, t.target) === "PASS").length,
      };
    });
  const checks = rounds.map(checkEventLog).filter((c): c is EventLogCheck => c !== null);
  const other = rounds.flatMap((r) => Object.values(r.measurements).map((m) => m.otherWorkCores)).filter((v) => !Number.isNaN(v));
  return {
    baseline,
    otherWork: { medianCores: median(other), maxCores: other.length === 0 ? Number.NaN : Math.max(...other) },
    arms: arms.map((a) => summarizeArm(rounds, a.key, a.name, shapes, baseline)),
    comparisons: comparisonResults,
    thresholds: thresholdResults,
    eventLog: { checks, verdict: checks.length === 0 ? "n/a" : checks.every((c) => c.ok) ? "PASS" : "FAIL" },
  };
}

/** Above this many cores of other work (median over measurements; twice that at the worst), the report warns. */
export const otherWorkWarningCores = 0.25;

const ms = (us: number): string => (Number.isNaN(us) ? "-" : us === Number.POSITIVE_INFINITY ? "inf" : (us / 1_000).toFixed(us >= 10_000 ? 1 : 2));
const signedMs = (us: number): string => (Number.isNaN(us) ? "-" : `${us >= 0 ? "+" : ""}${ms(us)}`);
const fixed = (value: number, digits: number): string => (Number.isNaN(value) ? "-" : value.toFixed(digits));

function formatValue(value: number, unit: string): string {
  if (Number.isNaN(value)) return "-";
  if (unit === "x") return value.toFixed(3);
  if (unit === "ms") return `${value >= 0 ? "+" : ""}${value.toFixed(3)} ms`;
  return `${value.toFixed(1)} ${unit}`;
}

/** The verdict, qualified when the rounds disagree with it. */
export function formatVerdict(figure: FigureResult): string {
  if (figure.verdict === "n/a" || figure.perRound.length === 0) return figure.verdict;
  const agreeing = figure.verdict === "PASS" ? figure.roundsPassing : figure.perRound.length - figure.roundsPassing;
  return agreeing === figure.perRound.length ? figure.verdict : `${figure.verdict} (rounds disagree: ${figure.roundsPassing}/${figure.perRound.length} pass)`;
}

function formatTarget(target: Target | undefined, unit: string): string {
  if (!target) return "";
  return `${target.op} ${target.value}${unit === "x" ? "" : ` ${unit}`}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows.map((row) => row.map((cell, col) => (col < 2 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join("  ").trimEnd());
}

/** The human-readable report: the table of medians, comparisons, thresholds, the event-log check. */
export function formatSummary(summary: BenchSummary, shapes: readonly LoadShape[]): string {
  const header = ["arm", "name"];
  for (const shape of shapes) {
    const tag = shape.kind === "saturation" ? `${shape.name}(c${shape.connections})` : `${shape.name}(${shape.rate}/s)`;
    if (shape.kind === "saturation") header.push(`${tag} req/s`, "p50 ms", "p99 ms", "CPU us/req");
    else header.push(`${tag} p50 ms`, "p99 ms", `p99 vs ${summary.baseline}`, "CPU us/req");
  }
  header.push("peak RSS MB", "rounds");
  const rows = [header];
  for (const arm of summary.arms) {
    const row = [arm.arm, arm.name];
    for (const shape of shapes) {
      const s = arm.shapes[shape.name];
      if (!s) {
        row.push("-", "-", "-", "-");
        continue;
      }
      if (shape.kind === "saturation") row.push(fixed(s.requestsPerSec, 0), ms(s.p50Us), ms(s.p99Us), fixed(s.cpuUsPerRequest, 1));
      else row.push(ms(s.p50Us), ms(s.p99Us), signedMs(s.addedP99Us), fixed(s.cpuUsPerRequest, 1));
    }
    row.push(fixed(arm.peakRssKbMax / 1024, 1), String(arm.roundsMeasured));
    rows.push(row);
  }
  const lines = ["", "Medians over rounds (latency from the scheduled send time for the open-loop shape):", ...table(rows)];

  const troubles = summary.arms.flatMap((arm) =>
    Object.entries(arm.shapes)
      .filter(([, s]) => s.errors + s.non2xx3xx > 0)
      .map(([shape, s]) => `  ${arm.arm} ${shape}: ${s.errors} request(s) without a response, ${s.non2xx3xx} non-2xx/3xx (all rounds)`),
  );
  const failures = summary.arms.flatMap((arm) => arm.errors.map((e) => `  ${arm.arm} ${arm.name} ${e}`));
  if (troubles.length + failures.length > 0) lines.push("", "Errors:", ...failures, ...troubles);

  const lag = summary.arms
    .flatMap((arm) => Object.entries(arm.shapes).filter(([, s]) => !Number.isNaN(s.sendLagP99Us)).map(([, s]) => s.sendLagP99Us))
    .filter((v) => !Number.isNaN(v));
  if (lag.length > 0) lines.push(`(open-loop generator send lag p99, median over arms: ${ms(median(lag))} ms; it is part of every arm's open-loop latency)`);

  const { medianCores, maxCores } = summary.otherWork;
  if (!Number.isNaN(medianCores)) {
    lines.push(`Other work on the machine during the measurements: median ${medianCores.toFixed(2)} cores, max ${maxCores.toFixed(2)} cores.`);
    if (medianCores > otherWorkWarningCores || maxCores > 2 * otherWorkWarningCores) {
      lines.push(
        `WARNING: other processes competed with the bench for CPU (more than ${otherWorkWarningCores} core${maxCores > 2 * otherWorkWarningCores ? " at times" : " typically"}): treat the figures as rough, trust only verdicts every round agrees with, and rerun on a quieter machine.`,
      );
    }
  }

  const figures = [...summary.comparisons, ...summary.thresholds];
  if (figures.length > 0) {
    lines.push("", "Figures (median of per-round values; RSS: max over rounds):");
    const figureRows = [["figure", "value", "per round", "target", "verdict"]];
    for (const f of figures) {
      figureRows.push([f.label, formatValue(f.value, f.unit), f.perRound.map((v) => formatValue(v, f.unit).replace(/ (ms|MB)$/, "")).join(" "), formatTarget(f.target, f.unit), formatVerdict(f)]);
    }
    const widths = figureRows[0]!.map((_, col) => Math.max(...figureRows.map((row) => row[col]!.length)));
    lines.push(...figureRows.map((row) => row.map((cell, col) => cell.padEnd(widths[col]!)).join("  ").trimEnd()));
  }

  if (summary.eventLog.checks.length > 0) {
    lines.push("", `Event log holds every request: ${summary.eventLog.verdict}`);
    for (const c of summary.eventLog.checks) {
      const upstream = c.upstreamServed === null ? "" : `, upstream served ${c.upstreamServed}`;
      lines.push(`  round ${c.round} ${c.arm}: ${c.events} request events; clients completed ${c.clientCompleted} (warmups included), sent at most ${c.clientSentUpperBound}${upstream}: ${c.ok ? "ok" : "FAIL"}, ${c.explanation}`);
    }
  }
  return lines.join("\n");
}
