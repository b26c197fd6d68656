import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Arm } from "./arm.js";
import type { ArmRound } from "./arm-round.js";
import { benchUsage, BenchOptionsError, parseBenchOptions, type BenchOptions } from "./bench-options.js";
import type { BenchSummary } from "./bench-report.js";
import type { LoadShape } from "./load-shape.js";
import { nginxBinary, startNginx, type NginxServer } from "./nginx-server.js";
import { stringifyNonFinite } from "./non-finite-json.js";
import { processRegistry } from "./process-registry.js";
import type { RunBenchOptions } from "./run-bench.js";
import { wrkBinary } from "./run-wrk.js";

/**
 * What the HTTP benches (gateway, policy, cache, traffic) share around runBench: the
 * script entry, the temp folder, the load shapes, the arm selection and the raw results
 * file. Each bench keeps its own arms, figures and targets.
 */

/** The repository root (this file runs from bench/dist/). */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const gatewayMain = join(repoRoot, "services", "gateway", "dist", "main.js");
export const benchLog = (line: string): void => void process.stdout.write(`${line}\n`);

export const formatLoadAverage = (load: readonly number[]): string => load.map((l) => l.toFixed(2)).join(" ");

export function requireExecutable(path: string, aptPackage: string): void {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} not found: the bench needs it (apt-get install -y ${aptPackage})`);
  }
}

/** The arms named by --arms (key or name, any case), in that order; all of them without it. */
export function selectArms(all: Arm[], wanted: string[] | null): Arm[] {
  if (wanted === null) return all;
  return wanted.map((w) => {
    const arm = all.find((a) => a.key.toLowerCase() === w.toLowerCase() || a.name.toLowerCase() === w.toLowerCase());
    if (!arm) throw new BenchOptionsError(`unknown arm ${JSON.stringify(w)}; arms: ${all.map((a) => `${a.key}=${a.name}`).join(", ")}`);
    return arm;
  });
}

/** The open-loop shape and the saturation shape, in the order they run and in the order the report shows them. */
export function benchShapes(options: BenchOptions): { shapes: LoadShape[]; displayShapes: LoadShape[] } {
  const rate: LoadShape = { kind: "open-loop", name: "rate", rate: options.rate, connections: options.openLoopConnections, durationS: options.durationS, warmupS: 1 };
  const sat: LoadShape = { kind: "saturation", name: "sat", connections: options.connections, threads: options.threads, durationS: options.durationS };
  // The open-loop shape first: a backlog left by saturation (an event log catching up) must not land in its latencies.
  return { shapes: [rate, sat], displayShapes: [sat, rate] };
}

/** A temp folder for the run; it is removed at exit unless --keep-temp, and Ctrl-C stops every process the bench started. */
export function createBenchTempDir(prefix: string, options: BenchOptions): string {
  const tmpDir = mkdtempSync(join(tmpdir(), prefix));
  processRegistry.trackTempDir(tmpDir);
  processRegistry.setKeepTemp(options.keepTemp);
  processRegistry.installExitHandlers(benchLog);
  return tmpDir;
}

/**
 * One nginx upstream per arm key (see Arm.upstream), each in its own folder under
 * tmpDir. `stop` stops them all, also those of a start that failed halfway.
 */
export class ArmUpstreams {
  readonly #servers: NginxServer[] = [];

  constructor(private readonly tmpDir: string) {}

  async start(name: string): Promise<NginxServer> {
    const server = await startNginx(name, join(this.tmpDir, name), { kind: "upstream", body: "ok\n" });
    this.#servers.push(server);
    return server;
  }

  /** An upstream for a gateway arm, as createGatewayArm takes it. */
  async forArm(key: string): Promise<{ upstreamUrl: string; upstream: NginxServer }> {
    const upstream = await this.start(`upstream-${key}`);
    return { upstreamUrl: upstream.url, upstream };
  }

  async stop(): Promise<void> {
    for (const server of this.#servers.splice(0)) await server.stop();
  }
}

/** runBench's options from the bench's flags. */
export function runBenchOptionsOf(options: BenchOptions, tmpDir: string, headers: readonly string[] = options.headers): RunBenchOptions {
  return {
    rounds: options.rounds,
    order: options.order,
    warmupS: options.warmupS,
    warmupConnections: options.connections,
    settleS: options.settleS,
    sliceS: options.sliceS,
    path: options.path,
    headers,
    tmpDir,
    log: benchLog,
  };
}

/** Writes the raw results to --out, else to $TMPDIR/tollgate-bench/<bench>-<time>.json, and logs the path. */
export function writeRawResults(options: BenchOptions, bench: string, startedAt: Date, results: Record<string, unknown>): string {
  const out = resolve(options.out ?? join(tmpdir(), "tollgate-bench", `${bench}-${startedAt.toISOString().replaceAll(":", "-")}.json`));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${stringifyNonFinite(results, 2)}\n`);
  benchLog(`Raw results: ${out}`);
  return out;
}

/**
 * The exit code of a run: 1 when an arm failed in some round; with --strict, also when a
 * figure missed its target or the event-log check failed; else 0.
 */
export function benchExitCode(rounds: readonly ArmRound[], summary: BenchSummary, strict: boolean): number {
  if (rounds.some((round) => round.error !== null)) return 1;
  const verdicts = [...summary.comparisons, ...summary.thresholds].map((figure) => figure.verdict);
  verdicts.push(summary.eventLog.verdict);
  return strict && verdicts.includes("FAIL") ? 1 : 0;
}

/**
 * The script entry of a bench: parses the flags (exit 2 on a bad one), prints `help` for
 * --help, checks for nginx and wrk, and sets the exit code from `main`.
 */
export async function runBenchScript(help: string, main: (options: BenchOptions) => Promise<number>): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2), process.env, (path) => readFileSync(path, "utf8"));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${benchUsage}\n`);
    process.exit(2);
  }
  if (options.help) {
    benchLog(help);
    process.exit(0);
  }
  try {
    requireExecutable(nginxBinary, "nginx");
    requireExecutable(wrkBinary, "wrk");
    process.exitCode = await main(options);
  } catch (error) {
    // After SIGINT/SIGTERM the children are being killed and errors are expected; the signal handler exits (130/143).
    if (error instanceof BenchOptionsError) {
      process.stderr.write(`${error.message}\n\n${benchUsage}\n`);
      process.exitCode = 2;
    } else if (processRegistry.interrupted === null) {
      process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  }
}
