import { spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import type { Arm } from "./arm.js";
import { benchUsage, type BenchOptions } from "./bench-options.js";
import { formatSummary, summarizeBench, type Comparison, type Threshold } from "./bench-report.js";
import {
  benchExitCode,
  benchLog as log,
  benchShapes,
  createBenchTempDir,
  formatLoadAverage,
  gatewayMain,
  repoRoot,
  runBenchOptionsOf,
  runBenchScript,
  selectArms,
  writeRawResults,
  ArmUpstreams,
} from "./bench-setup.js";
import { createDirectArm } from "./direct-arm.js";
import { createGatewayArm } from "./gateway-arm.js";
import { createNginxProxyArm } from "./nginx-proxy-arm.js";
import { nginxBinary } from "./nginx-server.js";
import { processRegistry } from "./process-registry.js";
import { runBench } from "./run-bench.js";
import { wrkBinary } from "./run-wrk.js";
import { createUndiciPassthroughArm } from "./undici-passthrough-arm.js";

/**
 * The gateway benchmark: Tollgate against the upstream called directly, a bare undici
 * passthrough and nginx as a proxy, interleaved over rounds, on loopback. See
 * docs/benchmarks.md.
 */

function versionOf(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8" });
  return `${result.stdout ?? ""}${result.stderr ?? ""}`.split("\n")[0]?.trim() ?? "?";
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
  const tmpDir = createBenchTempDir("tollgate-bench-", options);

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
  log(`Tollgate gateway bench, ${meta.startedAt}: node ${meta.node}, ${meta.nginx}, ${meta.wrk}, ${meta.cpus} CPUs, load average ${formatLoadAverage(loadBefore)}`);
  log(
    `${options.rounds} rounds x ${options.durationS} s per shape; saturation: wrk -t${options.threads} -c${options.connections}; open loop: ${options.rate} req/s over at most ${options.openLoopConnections} connections; warmup ${options.warmupS} s; path ${options.path}`,
  );

  const { shapes, displayShapes } = benchShapes(options);

  const upstreams = new ArmUpstreams(tmpDir);
  try {
    const [direct, ofUndici, ofNginx] = [await upstreams.start("upstream"), await upstreams.start("upstream-B"), await upstreams.start("upstream-C")];
    const all: Arm[] = [
      createDirectArm(direct),
      createUndiciPassthroughArm({ upstreamUrl: ofUndici.url, upstream: ofUndici }),
      createNginxProxyArm({ upstreamPort: ofNginx.port, upstream: ofNginx, tmpDir }),
      createGatewayArm({
        repoRoot,
        gatewayMain,
        ...(await upstreams.forArm("D")),
        tmpDir,
        routePrefix: "/bench",
        configExtra: options.gatewayConfigExtra,
        nodeArgs: options.gatewayNodeArgs,
      }),
    ];
    const arms = selectArms(all, options.arms);
    for (const arm of arms) log(`  ${arm.key} ${arm.name}: ${arm.description}`);

    const rounds = await runBench(arms, shapes, runBenchOptionsOf(options, tmpDir));

    const summary = summarizeBench(rounds, arms, displayShapes, "A", gatewayComparisons, gatewayThresholds);
    const loadAfter = loadavg();
    log(formatSummary(summary, displayShapes));
    log(`\nLoad average before ${formatLoadAverage(loadBefore)}, after ${formatLoadAverage(loadAfter)}.`);

    writeRawResults(options, "gateway-bench", startedAt, {
      meta: { ...meta, loadavgAfter: loadAfter, finishedAt: new Date().toISOString() },
      options,
      arms: arms.map((a) => ({ key: a.key, name: a.name, description: a.description })),
      shapes,
      rounds,
      summary,
    });
    if (options.keepTemp) log(`Temp folder kept: ${tmpDir}`);

    return benchExitCode(rounds, summary, options.strict);
  } finally {
    await upstreams.stop();
    processRegistry.removeTempDirs();
  }
}

await runBenchScript(benchUsage, main);
