import { loadavg } from "node:os";
import type { Arm, BenchUpstream, RunningArm } from "./arm.js";
import type { ArmRound } from "./arm-round.js";
import type { LoadShape } from "./load-shape.js";
import { clockTicksPerSecond, cpuMicrosPerRequest, otherWorkCores, sampleMachine, sampleProcessTree, type MachineSample, type ProcTreeSample } from "./proc-stats.js";
import { runOpenLoop } from "./run-open-loop.js";
import { runWrk } from "./run-wrk.js";
import type { ShapeMeasurement } from "./shape-measurement.js";

export interface RunBenchOptions {
  rounds: number;
  /** "fixed": every round runs the arms in the given order; "shuffle": a new random order each round. */
  order: "fixed" | "shuffle";
  /** Seconds of wrk saturation load before the measured shapes (not measured). */
  warmupS: number;
  /** Connections of that warmup. */
  warmupConnections: number;
  /** Pause between measurements, so a backlog from one does not spill into the next. */
  settleS: number;
  /** Whole seconds of each saturation slice: the round's arms take turns under saturation, a slice at a time. */
  sliceS: number;
  /** Request path, appended to each arm's URL. */
  path: string;
  /** Extra request headers for every request ("Name: value"). */
  headers: readonly string[];
  /** Folder for wrk's script. */
  tmpDir: string;
  log: (line: string) => void;
}

const sleep = async (seconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, seconds * 1_000));

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

interface ClientCounts {
  completed: number;
  upperBound: number;
}

async function measure(
  shape: LoadShape,
  running: RunningArm,
  upstream: BenchUpstream | undefined,
  options: RunBenchOptions,
  counts: ClientCounts,
): Promise<ShapeMeasurement> {
  const url = `${running.url}${options.path}`;
  const upstreamPid = upstream && upstream.pid !== running.pid ? upstream.pid : undefined;
  const before = sampleProcessTree(running.pid);
  const upstreamBefore: ProcTreeSample | undefined = upstreamPid === undefined ? undefined : sampleProcessTree(upstreamPid);
  const machineBefore = sampleMachine();
  const otherWork = (after: ProcTreeSample, upstreamAfter: ProcTreeSample | undefined, machineAfter: MachineSample): number =>
    otherWorkCores(
      machineBefore,
      machineAfter,
      after.cpuTicks - before.cpuTicks + (upstreamAfter && upstreamBefore ? upstreamAfter.cpuTicks - upstreamBefore.cpuTicks : 0),
      clockTicksPerSecond(),
    );
  const perRequest = (after: ProcTreeSample, beforeSample: ProcTreeSample | undefined, requests: number): number =>
    beforeSample === undefined ? Number.NaN : cpuMicrosPerRequest(beforeSample, after, requests, clockTicksPerSecond());

  if (shape.kind === "saturation") {
    const result = await runWrk({
      url,
      connections: shape.connections,
      threads: shape.threads,
      durationS: shape.durationS,
      headers: options.headers,
      dir: options.tmpDir,
    });
    const after = sampleProcessTree(running.pid);
    const upstreamAfter = upstreamPid === undefined ? undefined : sampleProcessTree(upstreamPid);
    const machineAfter = sampleMachine();
    counts.completed += result.requests;
    counts.upperBound += result.requests + shape.connections;
    return {
      shape: shape.name,
      kind: shape.kind,
      requests: result.requests,
      durationS: result.durationS,
      requestsPerSec: result.requestsPerSec,
      latencyUs: result.latencyUs,
      errors: result.errors.connect + result.errors.read + result.errors.write + result.errors.timeout,
      non2xx3xx: result.non2xx3xx,
      cpuUsPerRequest: perRequest(after, before, result.requests),
      upstreamCpuUsPerRequest: upstreamAfter === undefined ? Number.NaN : perRequest(upstreamAfter, upstreamBefore, result.requests),
      otherWorkCores: otherWork(after, upstreamAfter, machineAfter),
    };
  }

  const result = await runOpenLoop({
    url,
    rate: shape.rate,
    durationS: shape.durationS,
    warmupS: shape.warmupS,
    connections: shape.connections,
    headers: options.headers,
    drainTimeoutS: 5,
  });
  const after = sampleProcessTree(running.pid);
  const upstreamAfter = upstreamPid === undefined ? undefined : sampleProcessTree(upstreamPid);
  const machineAfter = sampleMachine();
  counts.completed += result.totals.completed;
  counts.upperBound += result.totals.sent;
  const non2xx3xx = Object.entries(result.statusCounts)
    .filter(([status]) => Number(status) >= 400)
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    shape: shape.name,
    kind: shape.kind,
    requests: result.completed,
    durationS: shape.durationS,
    requestsPerSec: result.achievedRate,
    latencyUs: result.latencyUs,
    errors: result.failed,
    non2xx3xx,
    // The samples span the generator's whole run, its warmup included, so divide by all it completed.
    cpuUsPerRequest: perRequest(after, before, result.totals.completed),
    upstreamCpuUsPerRequest: upstreamAfter === undefined ? Number.NaN : perRequest(upstreamAfter, upstreamBefore, result.totals.completed),
    otherWorkCores: otherWork(after, upstreamAfter, machineAfter),
    openLoop: {
      scheduled: result.scheduled,
      achievedRate: result.achievedRate,
      sendLagUs: { p50: result.sendLagUs.p50, p99: result.sendLagUs.p99 },
      serviceTimeUs: { p50: result.serviceTimeUs.p50, p99: result.serviceTimeUs.p99 },
      maxOutstanding: result.maxOutstanding,
      slowestAtS: result.slowestAtS,
      generatorCpuPercent: result.generatorCpuPercent,
    },
  };
}

/** One arm within a round: started, measured shape by shape, stopped with the others. */
interface LiveArm {
  arm: Arm;
  record: ArmRound;
  counts: ClientCounts;
  running: RunningArm | null;
  upstreamBefore: number | null;
}

async function startArm(arm: Arm, round: number, position: number, options: RunBenchOptions): Promise<LiveArm> {
  const record: ArmRound = {
    round,
    position,
    arm: arm.key,
    name: arm.name,
    loadAverage: loadavg()[0] ?? Number.NaN,
    measurements: {},
    peakRssKb: Number.NaN,
    clientCompleted: 0,
    clientSentUpperBound: 0,
    upstreamServed: null,
    stop: null,
    error: null,
  };
  const live: LiveArm = { arm, record, counts: { completed: 0, upperBound: 0 }, running: null, upstreamBefore: arm.upstream ? await arm.upstream.requestsServed() : null };
  try {
    live.running = await arm.start();
    if (options.warmupS > 0) {
      const warmup = await runWrk({
        url: `${live.running.url}${options.path}`,
        connections: options.warmupConnections,
        threads: 1,
        durationS: options.warmupS,
        headers: options.headers,
        dir: options.tmpDir,
      });
      live.counts.completed += warmup.requests;
      live.counts.upperBound += warmup.requests + options.warmupConnections;
      await sleep(options.settleS);
    }
  } catch (error) {
    fail(live, error, options);
  }
  return live;
}

/** Started, and nothing has failed yet. */
function measurable(live: LiveArm): live is LiveArm & { running: RunningArm } {
  return live.record.error === null && live.running !== null;
}

function fail(live: LiveArm, error: unknown, options: RunBenchOptions): void {
  live.record.error = error instanceof Error ? error.message : String(error);
  options.log(`  round ${live.record.round} ${live.arm.key} ${live.arm.name}: ERROR ${live.record.error}`);
}

async function stopArm(live: LiveArm, options: RunBenchOptions): Promise<ArmRound> {
  const { arm, record } = live;
  if (live.running !== null) {
    try {
      record.stop = await arm.stop();
    } catch (error) {
      const message = `stop failed: ${error instanceof Error ? error.message : String(error)}`;
      record.error = record.error === null ? message : `${record.error}; ${message}`;
      options.log(`  round ${record.round} ${arm.key} ${arm.name}: ${message}`);
    }
  }
  record.clientCompleted = live.counts.completed;
  record.clientSentUpperBound = live.counts.upperBound;
  if (arm.upstream && live.upstreamBefore !== null) record.upstreamServed = (await arm.upstream.requestsServed()) - live.upstreamBefore;
  return record;
}

function logMeasurement(live: LiveArm, measurement: ShapeMeasurement, options: RunBenchOptions): void {
  options.log(`  round ${live.record.round} ${live.arm.key} ${live.arm.name.padEnd(12)} ${measurement.shape.padEnd(5)} ${describeMeasurement(measurement)}`);
}

/**
 * A saturation shape measured in turns: each arm gets `sliceS` seconds of wrk, then the
 * next one does, and so on until each has had the shape's duration; the order rotates at
 * every turn. The machine's speed drifts by tens of percent within seconds, so arms that
 * are measured seconds apart meet the same machine, and their ratio is steady.
 */
async function measureInTurns(shape: Extract<LoadShape, { kind: "saturation" }>, arms: readonly LiveArm[], options: RunBenchOptions): Promise<void> {
  const turns = Math.max(1, Math.round(shape.durationS / options.sliceS));
  const sliceS = turns === 1 ? shape.durationS : options.sliceS;
  const slices = new Map<LiveArm, ShapeMeasurement[]>(arms.map((live) => [live, []]));
  for (let turn = 0; turn < turns; turn++) {
    for (let i = 0; i < arms.length; i++) {
      const live = arms[(i + turn) % arms.length]!;
      if (!measurable(live)) continue;
      try {
        slices.get(live)!.push(await measure({ ...shape, durationS: sliceS }, live.running, live.arm.upstream, options, live.counts));
      } catch (error) {
        fail(live, error, options);
      }
      await sleep(Math.min(options.settleS, 0.25));
    }
  }
  for (const live of arms) {
    const parts = slices.get(live)!;
    if (live.record.error !== null || parts.length === 0) continue;
    const merged = mergeSlices(parts);
    live.record.measurements[shape.name] = merged;
    logMeasurement(live, merged, options);
  }
}

/** One measurement from a shape's slices: totals summed, per-request figures weighted by requests, percentiles averaged likewise (wrk gives no histogram). */
export function mergeSlices(parts: readonly ShapeMeasurement[]): ShapeMeasurement {
  const first = parts[0]!;
  const requests = parts.reduce((sum, p) => sum + p.requests, 0);
  const durationS = parts.reduce((sum, p) => sum + p.durationS, 0);
  const byRequests = (value: (p: ShapeMeasurement) => number): number =>
    requests === 0 ? Number.NaN : parts.reduce((sum, p) => sum + value(p) * p.requests, 0) / requests;
  return {
    shape: first.shape,
    kind: first.kind,
    requests,
    durationS,
    requestsPerSec: requests / durationS,
    latencyUs: {
      p50: byRequests((p) => p.latencyUs.p50),
      p90: byRequests((p) => p.latencyUs.p90),
      p99: byRequests((p) => p.latencyUs.p99),
      p999: byRequests((p) => p.latencyUs.p999),
      max: Math.max(...parts.map((p) => p.latencyUs.max)),
    },
    errors: parts.reduce((sum, p) => sum + p.errors, 0),
    non2xx3xx: parts.reduce((sum, p) => sum + p.non2xx3xx, 0),
    cpuUsPerRequest: byRequests((p) => p.cpuUsPerRequest),
    upstreamCpuUsPerRequest: byRequests((p) => p.upstreamCpuUsPerRequest),
    otherWorkCores: parts.reduce((sum, p) => sum + p.otherWorkCores * p.durationS, 0) / durationS,
    slicesRequestsPerSec: parts.map((p) => p.requestsPerSec),
  };
}

function describeMeasurement(m: ShapeMeasurement): string {
  const ms = (us: number): string => (us / 1_000).toFixed(2);
  const errors = m.errors + m.non2xx3xx > 0 ? ` errors=${m.errors} non2xx=${m.non2xx3xx}` : "";
  const openLoop = m.openLoop
    ? `  (max ${ms(m.latencyUs.max)} ms at ${m.openLoop.slowestAtS.toFixed(2)} s, ${m.openLoop.maxOutstanding} outstanding at most, generator lag p99 ${ms(m.openLoop.sendLagUs.p99)} ms)`
    : "";
  const slices = m.slicesRequestsPerSec && m.slicesRequestsPerSec.length > 1 ? `  (slices ${m.slicesRequestsPerSec.map((r) => r.toFixed(0)).join(" ")})` : "";
  return `${m.requestsPerSec.toFixed(0).padStart(7)} req/s  p50 ${ms(m.latencyUs.p50)} ms  p99 ${ms(m.latencyUs.p99)} ms  cpu ${m.cpuUsPerRequest.toFixed(1)} us/req  other work ${m.otherWorkCores.toFixed(2)} cores${errors}${openLoop}${slices}`;
}

/**
 * Runs every arm under every shape, `rounds` times. In each round every arm is started
 * fresh (in the given order, or a shuffled one), warmed up and measured under the
 * open-loop shapes right away, as it would be alone; then the saturation shapes are
 * measured in turns of `sliceS` seconds (measureInTurns); then every arm is stopped. The
 * arms of a round all run until its end, idle when it is not their turn, so each needs an
 * upstream of its own to be counted.
 */
export async function runBench(arms: readonly Arm[], shapes: readonly LoadShape[], options: RunBenchOptions): Promise<ArmRound[]> {
  const results: ArmRound[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const order = options.order === "shuffle" ? shuffled(arms) : [...arms];
    options.log(`round ${round}/${options.rounds}: ${order.map((arm) => arm.key).join(" ")}`);
    const live: LiveArm[] = [];
    try {
      for (const [position, arm] of order.entries()) {
        const one = await startArm(arm, round, position, options);
        live.push(one);
        for (const shape of shapes) {
          if (shape.kind !== "open-loop" || !measurable(one)) continue;
          try {
            const measurement = await measure(shape, one.running, one.arm.upstream, options, one.counts);
            one.record.measurements[shape.name] = measurement;
            logMeasurement(one, measurement, options);
          } catch (error) {
            fail(one, error, options);
          }
          await sleep(options.settleS);
        }
      }
      for (const shape of shapes) {
        if (shape.kind !== "saturation") continue;
        await measureInTurns(shape, live, options);
        await sleep(options.settleS);
      }
      for (const one of live) if (one.running !== null) one.record.peakRssKb = sampleProcessTree(one.running.pid).hwmKb;
    } finally {
      for (const one of live) results.push(await stopArm(one, options));
    }
  }
  return results;
}
