import { cpus, loadavg } from "node:os";
import type { Arm, ArmStopReport, BenchUpstream, RunningArm } from "./arm.js";
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
import { deepMerge } from "./deep-merge.js";
import { createDirectArm } from "./direct-arm.js";
import { createGatewayArm } from "./gateway-arm.js";
import { healthProbesAtMost, healthProbesDetailKey, withHealthProbesDiscounted } from "./health-probe-allowance.js";
import type { NginxServer } from "./nginx-server.js";
import { processRegistry } from "./process-registry.js";
import { runBench } from "./run-bench.js";
import { bareOverTargetsConfig, trafficHealthCheckIntervalMs, trafficLayerConfig, type TrafficAlgorithm } from "./traffic-layer-config.js";

/**
 * The traffic-management benchmark (issue 7): what the breaker and load-balancing layer
 * costs against the bare gateway. In one run, interleaved over rounds, on loopback:
 *
 *   A  the nginx upstream directly
 *   D  the bare gateway: one route, an upstream with one target, everything at its default
 *   T  the bare gateway over three targets (three nginx servers), plain round-robin
 *   L  the same route over three targets with the whole layer on: weighted round-robin 1:2:3, active health checks every second,
 *      passive outlier detection, a circuit breaker per target, route timeouts, retries
 *      within a budget
 *   H  L with consistent hashing on the client IP instead (all load comes from 127.0.0.1,
 *      so it lands on one target: H measures the hashing, not the spread)
 *
 * Every arm has upstreams of its own (see Arm.upstream): T, L and H three nginx servers each.
 * The target: L ÷ T req/s at saturation ≥ 0.90. See docs/benchmarks.md.
 */

const weights = [1, 2, 3] as const;

export const trafficComparisons: readonly Comparison[] = [
  { label: "traffic layer req/s / bare gateway req/s", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "L", b: "D", unit: "x" },
  {
    label: "traffic layer req/s / bare gateway over the same 3 targets",
    kind: "ratio",
    shape: "sat",
    metric: "requestsPerSec",
    a: "L",
    b: "T",
    unit: "x",
    target: { op: ">=", value: 0.9 },
  },
  { label: "traffic layer CPU/req / bare gateway over 3 targets CPU/req, saturation", kind: "ratio", shape: "sat", metric: "cpuUsPerRequest", a: "L", b: "T", unit: "x" },
  { label: "traffic layer CPU/req / bare gateway over 3 targets CPU/req, open loop", kind: "ratio", shape: "rate", metric: "cpuUsPerRequest", a: "L", b: "T", unit: "x" },
  { label: "bare gateway over 3 targets req/s / bare gateway req/s", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "T", b: "D", unit: "x" },
  { label: "traffic layer CPU/req / bare gateway CPU/req, saturation", kind: "ratio", shape: "sat", metric: "cpuUsPerRequest", a: "L", b: "D", unit: "x" },
  { label: "traffic layer CPU/req / bare gateway CPU/req, open loop", kind: "ratio", shape: "rate", metric: "cpuUsPerRequest", a: "L", b: "D", unit: "x" },
  { label: "traffic layer p99 added over bare gateway, open loop", kind: "difference", shape: "rate", metric: "p99Us", a: "L", b: "D", unit: "ms" },
  { label: "traffic layer p50 added over bare gateway, open loop", kind: "difference", shape: "rate", metric: "p50Us", a: "L", b: "D", unit: "ms" },
  { label: "consistent hash req/s / bare gateway req/s", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "H", b: "D", unit: "x" },
  { label: "consistent hash CPU/req / bare gateway CPU/req, saturation", kind: "ratio", shape: "sat", metric: "cpuUsPerRequest", a: "H", b: "D", unit: "x" },
  { label: "consistent hash p99 added over bare gateway, open loop", kind: "difference", shape: "rate", metric: "p99Us", a: "H", b: "D", unit: "ms" },
  { label: "bare gateway req/s / direct", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "D", b: "A", unit: "x" },
];

export const trafficThresholds: readonly Threshold[] = [
  { label: "traffic layer peak RSS (the gateway's target)", arm: "L", figure: { kind: "peakRssMb" }, unit: "MB", target: { op: "<", value: 200 } },
];

/** An arm's three nginx servers as one upstream for runBench: the first one's CPU is charged as the upstream's, the requests of all three are counted. */
function targetsAsUpstream(servers: readonly NginxServer[]): BenchUpstream {
  return {
    pid: servers[0]!.pid,
    requestsServed: async () => (await Promise.all(servers.map((server) => server.requestsServed()))).reduce((sum, n) => sum + n, 0),
  };
}

/**
 * A layered arm, with what the bench needs to know of its traffic: each target's share of
 * the requests (does the balancer spread them?) and the most health probes it can have
 * sent (the event-log check discounts them from the upstream's count).
 */
function withTargetAccounting(arm: Arm, servers: readonly NginxServer[], targetWeights: readonly number[], probeIntervalMs: number | null): Arm {
  let startedAt = 0;
  let servedBefore: number[] = [];
  return {
    key: arm.key,
    name: arm.name,
    description: arm.description,
    upstream: targetsAsUpstream(servers),
    async start(): Promise<RunningArm> {
      startedAt = performance.now();
      servedBefore = await Promise.all(servers.map((server) => server.requestsServed()));
      return arm.start();
    },
    async stop(): Promise<ArmStopReport> {
      const report = await arm.stop();
      const lifetimeMs = performance.now() - startedAt;
      const servedAfter = await Promise.all(servers.map((server) => server.requestsServed()));
      return {
        ...report,
        detail: {
          ...report.detail,
          lifetimeMs,
          servedByTarget: servedAfter.map((after, i) => after - (servedBefore[i] ?? 0)),
          targetWeights,
          [healthProbesDetailKey]: probeIntervalMs === null ? 0 : healthProbesAtMost(lifetimeMs, probeIntervalMs, servers.length),
        },
      };
    },
  };
}

async function main(options: BenchOptions): Promise<number> {
  const tmpDir = createBenchTempDir("tollgate-traffic-bench-", options);
  const startedAt = new Date();
  const loadBefore = loadavg();
  log(`Tollgate traffic-management bench, ${startedAt.toISOString()}: node ${process.version}, ${cpus().length} CPUs, load average ${formatLoadAverage(loadBefore)}`);
  const { shapes, displayShapes } = benchShapes(options);

  const upstreams = new ArmUpstreams(tmpDir);
  try {
    const direct = await upstreams.start("upstream");
    const ofBare = await upstreams.forArm("D");
    const threeTargets = async (key: string): Promise<NginxServer[]> => [
      await upstreams.start(`upstream-${key}-1`),
      await upstreams.start(`upstream-${key}-2`),
      await upstreams.start(`upstream-${key}-3`),
    ];
    const targetsOf = (servers: readonly NginxServer[], targetWeights: readonly number[]) => servers.map((server, i) => ({ url: server.url, weight: targetWeights[i]! }));
    // --gateway-config-extra goes to every gateway arm, over the arm's own config, so that the arms stay comparable.
    const withExtra = (config: Record<string, unknown>): Record<string, unknown> => (options.gatewayConfigExtra ? deepMerge(config, options.gatewayConfigExtra) : config);
    const common = { repoRoot, gatewayMain, tmpDir, routePrefix: "/bench", nodeArgs: options.gatewayNodeArgs };
    const layered = async (key: string, name: string, algorithm: TrafficAlgorithm, description: string): Promise<Arm> => {
      const servers = await threeTargets(key);
      const config = withExtra(trafficLayerConfig(targetsOf(servers, weights), algorithm, "/bench"));
      return withTargetAccounting(createGatewayArm({ ...common, upstreamUrl: servers[0]!.url, key, name, description, configExtra: config }), servers, weights, trafficHealthCheckIntervalMs);
    };
    const ofBareOverTargets = await threeTargets("T");
    const all: Arm[] = [
      createDirectArm(direct),
      createGatewayArm({
        ...common,
        ...ofBare,
        key: "D",
        name: "bare-gateway",
        description: "Tollgate, one route, an upstream with one target, every traffic setting at its default (no breaker, no active health checks)",
        configExtra: options.gatewayConfigExtra,
      }),
      withTargetAccounting(
        createGatewayArm({
          ...common,
          upstreamUrl: ofBareOverTargets[0]!.url,
          key: "T",
          name: "bare-3-targets",
          description: "Tollgate, the same route over 3 targets, plain round-robin, every other traffic setting at its default (no breaker, no active health checks, no timeouts, no retries)",
          configExtra: withExtra(bareOverTargetsConfig(targetsOf(ofBareOverTargets, [1, 1, 1]))),
        }),
        ofBareOverTargets,
        [1, 1, 1],
        null,
      ),
      await layered(
        "L",
        "traffic-layer",
        "weighted-round-robin",
        "Tollgate, the same route over 3 targets, weighted round-robin 1:2:3, active health checks every 1 s, outlier detection, a breaker per target, route timeouts, retries with a budget",
      ),
      await layered("H", "consistent-hash", "consistent-hash", "L with consistent hashing on the client IP (one client IP: every request goes to one target)"),
    ];
    const arms = selectArms(all, options.arms);
    for (const arm of arms) log(`  ${arm.key} ${arm.name}: ${arm.description}`);

    const rounds = await runBench(arms, shapes, runBenchOptionsOf(options, tmpDir));
    // The event-log check of L and H: the upstream's count less the health probes those arms may have sent.
    const summary = summarizeBench(rounds.map(withHealthProbesDiscounted), arms, displayShapes, "A", trafficComparisons, trafficThresholds);
    const loadAfter = loadavg();
    log(formatSummary(summary, displayShapes));
    for (const round of rounds) {
      const detail = round.stop?.detail;
      if (!detail || !Array.isArray(detail.servedByTarget)) continue;
      log(
        `  round ${round.round} ${round.arm}: requests per target (weights ${(detail.targetWeights as number[]).join(":")}) ${(detail.servedByTarget as number[]).join(" / ")}, health probes among them at most ${String(detail[healthProbesDetailKey])}`,
      );
    }
    log(`\nLoad average before ${formatLoadAverage(loadBefore)}, after ${formatLoadAverage(loadAfter)}.`);
    writeRawResults(options, "traffic-bench", startedAt, {
      meta: { startedAt, loadBefore, loadAfter, weights, healthCheckIntervalMs: trafficHealthCheckIntervalMs },
      options,
      arms: arms.map((a) => ({ key: a.key, name: a.name, description: a.description })),
      rounds,
      summary,
    });
    return benchExitCode(rounds, summary, options.strict);
  } finally {
    await upstreams.stop();
    processRegistry.removeTempDirs();
  }
}

await runBenchScript(
  `${benchUsage}\n\nThe traffic-management bench (npm run bench:traffic) takes the same flags; its arms are A, D, L, H. --gateway-config-extra is laid over every gateway arm.`,
  main,
);
