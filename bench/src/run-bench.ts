import { loadavg } from "node:os";
import type { Arm, RunningArm } from "./arm.js";
import type { ArmRound } from "./arm-round.js";
import type { LoadShape } from "./load-shape.js";
import { clockTicksPerSecond, cpuMicrosPerRequest, otherWorkCores, sampleMachine, sampleProcessTree, type MachineSample, type ProcTreeSample } from "./proc-stats.js";
import { runOpenLoop } from "./run-open-loop.js";
import { runWrk } from "./run-wrk.js";
import type { ShapeMeasurement } from "./shape-measurement.js";

export interface BenchUpstream {
  /** Root pid of the upstream's process tree. */
  pid: number;
  /** Requests it has served so far; used to count what an arm forwarded. */
  requestsServed(): Promise<number>;
}

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
  /** Request path, appended to each arm's URL. */
  path: string;
  /** Extra request headers for every request ("Name: value"). */
  headers: readonly string[];
  /** Folder for wrk's script. */
  tmpDir: string;
  upstream?: BenchUpstream;
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
  options: RunBenchOptions,
  counts: ClientCounts,
): Promise<ShapeMeasurement> {
  const url = `${running.url}${options.path}`;
  const upstreamPid = options.upstream && options.upstream.pid !== running.pid ? options.upstream.pid : undefined;
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

async function runArmRound(arm: Arm, round: number, position: number, shapes: readonly LoadShape[], options: RunBenchOptions): Promise<ArmRound> {
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
  const counts: ClientCounts = { completed: 0, upperBound: 0 };
  const upstreamBefore = options.upstream ? await options.upstream.requestsServed() : null;
  let started = false;
  try {
    const running = await arm.start();
    started = true;
    if (options.warmupS > 0) {
      const warmup = await runWrk({
        url: `${running.url}${options.path}`,
        connections: options.warmupConnections,
        threads: 1,
        durationS: options.warmupS,
        headers: options.headers,
        dir: options.tmpDir,
      });
      counts.completed += warmup.requests;
      counts.upperBound += warmup.requests + options.warmupConnections;
      await sleep(options.settleS);
    }
    for (const shape of shapes) {
      const measurement = await measure(shape, running, options, counts);
      record.measurements[shape.name] = measurement;
      options.log(`  round ${round} ${arm.key} ${arm.name.padEnd(12)} ${shape.name.padEnd(5)} ${describeMeasurement(measurement)}`);
      await sleep(options.settleS);
    }
    record.peakRssKb = sampleProcessTree(running.pid).hwmKb;
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
    options.log(`  round ${round} ${arm.key} ${arm.name}: ERROR ${record.error}`);
  } finally {
    if (started) {
      try {
        record.stop = await arm.stop();
      } catch (error) {
        const message = `stop failed: ${error instanceof Error ? error.message : String(error)}`;
        record.error = record.error === null ? message : `${record.error}; ${message}`;
        options.log(`  round ${round} ${arm.key} ${arm.name}: ${message}`);
      }
    }
  }
  record.clientCompleted = counts.completed;
  record.clientSentUpperBound = counts.upperBound;
  if (options.upstream && upstreamBefore !== null) record.upstreamServed = (await options.upstream.requestsServed()) - upstreamBefore;
  return record;
}

function describeMeasurement(m: ShapeMeasurement): string {
  const ms = (us: number): string => (us / 1_000).toFixed(2);
  const errors = m.errors + m.non2xx3xx > 0 ? ` errors=${m.errors} non2xx=${m.non2xx3xx}` : "";
  const openLoop = m.openLoop
    ? `  (max ${ms(m.latencyUs.max)} ms at ${m.openLoop.slowestAtS.toFixed(2)} s, ${m.openLoop.maxOutstanding} outstanding at most, generator lag p99 ${ms(m.openLoop.sendLagUs.p99)} ms)`
    : "";
  return `${m.requestsPerSec.toFixed(0).padStart(7)} req/s  p50 ${ms(m.latencyUs.p50)} ms  p99 ${ms(m.latencyUs.p99)} ms  cpu ${m.cpuUsPerRequest.toFixed(1)} us/req  other work ${m.otherWorkCores.toFixed(2)} cores${errors}${openLoop}`;
}

/**
 * Runs every arm under every shape, `rounds` times, interleaved: round 1 runs A B C D,
 * round 2 runs A B C D again, and so on (or a shuffled order per round), so that slow
 * drifts of a shared machine hit all arms alike. Each arm is started fresh in each round,
 * warmed up, measured under each shape in turn, and stopped.
 */
export async function runBench(arms: readonly Arm[], shapes: readonly LoadShape[], options: RunBenchOptions): Promise<ArmRound[]> {
  const results: ArmRound[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const order = options.order === "shuffle" ? shuffled(arms) : [...arms];
    options.log(`round ${round}/${options.rounds}: ${order.map((arm) => arm.key).join(" ")}`);
    for (const [position, arm] of order.entries()) {
      results.push(await runArmRound(arm, round, position, shapes, options));
    }
  }
  return results;
}
