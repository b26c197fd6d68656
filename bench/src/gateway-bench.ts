import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Arm } from "./arm.js";
import { benchUsage, BenchOptionsError, parseBenchOptions, type BenchOptions } from "./bench-options.js";
import { formatSummary, summarizeBench, type Comparison, type Threshold } from "./bench-report.js";
import { createDirectArm } from "./direct-arm.js";
import { createGatewayArm } from "./gateway-arm.js";
import type { LoadShape } from "./load-shape.js";
import { createNginxProxyArm } from "./nginx-proxy-arm.js";
import { nginxBinary, startNginx, type NginxServer } from "./nginx-server.js";
import { stringifyNonFinite } from "./non-finite-json.js";
import { processRegistry } from "./process-registry.js";
import { runBench } from "./run-bench.js";
import { wrkBinary } from "./run-wrk.js";
import { createUndiciPassthroughArm } from "./undici-passthrough-arm.js";

/**
 * The gateway benchmark: Tollgate against the upstream called directly, a bare undici
 * passthrough and nginx as a proxy, interleaved over rounds, on loopback. See
 * docs/benchmarks.md.
 */

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const log = (line: string): void => void process.stdout.write(`${line}\n`);

function requireExecutable(path: string, aptPackage: string): void {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} not found: the bench needs it (apt-get install -y ${aptPackage})`);
  }
}

function versionOf(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8" });
  return `${result.stdout ?? ""}${result.stderr ?? ""}`.split("\n")[0]?.trim() ?? "?";
}

function selectArms(all: Arm[], wanted: string[] | null): Arm[] {
  if (wanted === null) return all;
  return wanted.map((w) => {
    const arm = all.find((a) => a.key.toLowerCase() === w.toLowerCase() || a.name.toLowerCase() === w.toLowerCase());
    if (!arm) throw new BenchOptionsError(`unknown arm ${JSON.stringify(w)}; arms: ${all.map((a) => `${a.key}=${a.name}`).join(", ")}`);
    return arm;
  });
}

export const gatewayComparisons: readonly Comparison[] = [
  { label: "Tollgate req/s / bare undici req/s", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "D", b: "B", unit: "x", target: { op: ">=", value: 0.75 } },
  { label: "Tollgate req/s / nginx proxy req/s", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "D", b: "C", unit: "x" },
  { label: "Tollgate p99 added over direct, open loop", kind: "difference", shape: "rate", metric: "p99Us", a: "D", b: "A", unit: "ms", target: { op: "<", value: 1 } },
  {
    label: "  same, from the actual send (generator lag left out)",
    kind: "difference",
    shape: "rate",
    metric: "serviceP99Us",
    a: "D",
    b: "A",
    unit: "ms",
  },
  { label: "bare undici p99 added over direct, open loop", kind: "difference", shape: "rate", metric: "p99Us", a: "B", b: "A", unit: "ms" },
  { label: "nginx proxy p99 added over direct, open loop", kind: "difference", shape: "rate", metric: "p99Us", a: "C", b: "A", unit: "ms" },
  { label: "Tollgate CPU/req / bare undici CPU/req, saturation", kind: "ratio", shape: "sat", metric: "cpuUsPerRequest", a: "D", b: "B", unit: "x" },
  { label: "Tollgate CPU/req / nginx proxy CPU/req, saturation", kind: "ratio", shape: "sat", metric: "cpuUsPerRequest", a: "D", b: "C", unit: "x" },
];

export const gatewayThresholds: readonly Threshold[] = [
  { label: "Tollgate peak RSS", arm: "D", figure: { kind: "peakRssMb" }, unit: "MB", target: { op: "<", value: 200 } },
];

async function main(options: BenchOptions): Promise<number> {
  requireExecutable(nginxBinary, "nginx");
  requireExecutable(wrkBinary, "wrk");
  const gatewayMain = join(repoRoot, "services", "gateway", "dist", "main.js");

  const tmpDir = mkdtempSync(join(tmpdir(), "tollgate-bench-"));
  processRegistry.trackTempDir(tmpDir);
  processRegistry.setKeepTemp(options.keepTemp);
  processRegistry.installExitHandlers(log);

  const startedAt = new Date();
  const loadBefore = loadavg();
  const meta = {
    startedAt: startedAt.toISOString(),
    node: process.version,
    nginx: versionOf(nginxBinary, ["-v"]),
    wrk: versionOf(wrkBinary, ["-v"]),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    loadavgBefore: loadBefore,
    tmpDir,
  };
  log(`Tollgate gateway bench, ${meta.startedAt}: node ${meta.node}, ${meta.nginx}, ${meta.wrk}, ${meta.cpus} CPUs, load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`);
  log(
    `${options.rounds} rounds x ${options.durationS} s per shape; saturation: wrk -t${options.threads} -c${options.connections}; open loop: ${options.rate} req/s over at most ${options.openLoopConnections} connections; warmup ${options.warmupS} s; path ${options.path}`,
  );

  const shapes: LoadShape[] = [
    // The open-loop shape first: a backlog left by saturation (an event log catching up) must not land in its latencies.
    { kind: "open-loop", name: "rate", rate: options.rate, connections: options.openLoopConnections, durationS: options.durationS, warmupS: 1 },
    { kind: "saturation", name: "sat", connections: options.connections, threads: options.threads, durationS: options.durationS },
  ];
  const displayShapes = [shapes[1]!, shapes[0]!];

  let upstream: NginxServer | undefined;
  try {
    upstream = await startNginx("upstream", join(tmpDir, "upstream"), { kind: "upstream", body: "ok\n" });
    const all: Arm[] = [
      createDirectArm(upstream),
      createUndiciPassthroughArm({ upstreamUrl: upstream.url }),
      createNginxProxyArm({ upstreamPort: upstream.port, tmpDir }),
      createGatewayArm({ repoRoot, gatewayMain, upstreamUrl: upstream.url, tmpDir, routePrefix: "/bench", configExtra: options.gatewayConfigExtra, nodeArgs: options.gatewayNodeArgs }),
    ];
    const arms = selectArms(all, options.arms);
    for (const arm of arms) log(`  ${arm.key} ${arm.name}: ${arm.description}`);

    const rounds = await runBench(arms, shapes, {
      rounds: options.rounds,
      order: options.order,
      warmupS: options.warmupS,
      warmupConnections: options.connections,
      settleS: options.settleS,
      path: options.path,
      headers: options.headers,
      tmpDir,
      upstream,
      log,
    });

    const summary = summarizeBench(rounds, arms, displayShapes, "A", gatewayComparisons, gatewayThresholds);
    const loadAfter = loadavg();
    log(formatSummary(summary, displayShapes));
    log(`\nLoad average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}.`);

    const out = resolve(options.out ?? join(tmpdir(), "tollgate-bench", `gateway-bench-${startedAt.toISOString().replaceAll(":", "-")}.json`));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(
      out,
      `${stringifyNonFinite(
        {
          meta: { ...meta, loadavgAfter: loadAfter, finishedAt: new Date().toISOString() },
          options,
          arms: arms.map((a) => ({ key: a.key, name: a.name, description: a.description })),
          shapes,
          rounds,
          summary,
        },
        2,
      )}\n`,
    );
    log(`Raw results: ${out}`);
    if (options.keepTemp) log(`Temp folder kept: ${tmpDir}`);

    const armErrors = rounds.some((r) => r.error !== null);
    const verdicts = [...summary.comparisons, ...summary.thresholds].map((f) => f.verdict);
    verdicts.push(summary.eventLog.verdict);
    if (armErrors) return 1;
    return options.strict && verdicts.includes("FAIL") ? 1 : 0;
  } finally {
    await upstream?.stop();
    processRegistry.removeTempDirs();
  }
}

let options: BenchOptions;
try {
  options = parseBenchOptions(process.argv.slice(2), process.env, (path) => readFileSync(path, "utf8"));
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${benchUsage}\n`);
  process.exit(2);
}
if (options.help) {
  log(benchUsage);
  process.exit(0);
}
try {
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
