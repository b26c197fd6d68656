import { cpus, loadavg } from "node:os";
import type { PlanDefinition } from "@tollgate/events";
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
import { benchRedisPrefix, benchRedisUrl, deleteBenchRedisKeys } from "./bench-redis.js";
import { createDirectArm } from "./direct-arm.js";
import { createGatewayArm } from "./gateway-arm.js";
import { processRegistry } from "./process-registry.js";
import { runBench } from "./run-bench.js";
import { generateKeys, seedIdentity } from "./seed-identity.js";

/**
 * The policy benchmark: what authentication, rate limits and quotas cost on the request
 * path. In one run, interleaved over rounds, on loopback against an nginx upstream:
 *
 *   A  the upstream directly
 *   D  the bare gateway (one open route, events recorded)
 *   K  API-key auth + authorization, with 10,000 active keys in the identity index
 *   M  K + two plan rate limits + a monthly quota, counters in memory
 *   R  the same on Redis (REDIS_URL, default redis://127.0.0.1:6379, under a unique key prefix)
 *
 * Every arm gets the same API-key header (the bare arms forward it unread). The limits
 * are sized never to refuse, so every arm serves the same 200s and the difference is
 * the policies' own cost. See docs/benchmarks.md.
 */

const keyCount = Number(process.env.TOLLGATE_BENCH_KEYS ?? 10_000);
const redisUrl = benchRedisUrl;

const limitedPlan: Pick<PlanDefinition, "rateLimits" | "quota"> = {
  rateLimits: [
    { name: "per-second", points: 1_000_000_000, windowSeconds: 1, algorithm: "token-bucket" },
    { name: "per-hour", points: 1_000_000_000, windowSeconds: 3_600, algorithm: "fixed-window" },
  ],
  quota: { limit: 1_000_000_000, period: "month", enforcement: "hard" },
};
const unlimitedPlan: Pick<PlanDefinition, "rateLimits" | "quota"> = { rateLimits: [], quota: null };

export const policyComparisons: readonly Comparison[] = [
  { label: "key auth (10k keys) req/s / bare gateway req/s", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "K", b: "D", unit: "x", target: { op: ">=", value: 0.9 } },
  { label: "auth + limits (memory) req/s / bare gateway", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "M", b: "D", unit: "x", target: { op: ">=", value: 0.85 } },
  { label: "auth + limits (Redis) req/s / bare gateway", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "R", b: "D", unit: "x", target: { op: ">=", value: 0.65 } },
  { label: "bare gateway req/s / direct", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "D", b: "A", unit: "x" },
  { label: "key auth p99 added over bare gateway, open loop", kind: "difference", shape: "rate", metric: "p99Us", a: "K", b: "D", unit: "ms" },
  { label: "limits (memory) p99 added over bare gateway, open loop", kind: "difference", shape: "rate", metric: "p99Us", a: "M", b: "D", unit: "ms" },
  { label: "limits (Redis) p99 added over bare gateway, open loop", kind: "difference", shape: "rate", metric: "p99Us", a: "R", b: "D", unit: "ms" },
  { label: "key auth CPU/req / bare gateway CPU/req", kind: "ratio", shape: "sat", metric: "cpuUsPerRequest", a: "K", b: "D", unit: "x" },
  { label: "limits (memory) CPU/req / bare gateway CPU/req", kind: "ratio", shape: "sat", metric: "cpuUsPerRequest", a: "M", b: "D", unit: "x" },
  { label: "limits (Redis) CPU/req / bare gateway CPU/req", kind: "ratio", shape: "sat", metric: "cpuUsPerRequest", a: "R", b: "D", unit: "x" },
];

export const policyThresholds: readonly Threshold[] = [
  { label: "key auth (10k keys) peak RSS", arm: "K", figure: { kind: "peakRssMb" }, unit: "MB", target: { op: "<", value: 200 } },
];

async function main(options: BenchOptions): Promise<number> {
  const tmpDir = createBenchTempDir("tollgate-policy-bench-", options);
  const redisPrefix = benchRedisPrefix();

  const startedAt = new Date();
  const loadBefore = loadavg();
  log(`Tollgate policy bench, ${startedAt.toISOString()}: node ${process.version}, ${cpus().length} CPUs, load average ${formatLoadAverage(loadBefore)}`);
  const keys = generateKeys(keyCount);
  const key = keys[0]?.key ?? "";
  log(`${keyCount} consumers with an API key and a subscription each; the load uses one of them. Redis: ${redisUrl}, prefix ${redisPrefix}`);

  const { shapes, displayShapes } = benchShapes(options);

  const authRoute = (prefix: string): Record<string, unknown> => ({
    identity: { startupWaitMs: 120_000 },
    routes: [{ id: "bench", match: { pathPrefix: prefix }, upstream: "bench", auth: [{ type: "api-key" }] }],
  });
  const seeded = (plan: Pick<PlanDefinition, "rateLimits" | "quota">) => async (_dir: string, eventsFile: string) => {
    await seedIdentity(eventsFile, { keys, plan });
  };

  const upstreams = new ArmUpstreams(tmpDir);
  try {
    const direct = await upstreams.start("upstream");
    const common = { repoRoot, gatewayMain, tmpDir, routePrefix: "/bench", nodeArgs: options.gatewayNodeArgs };
    const redisStore = { kind: "redis", url: redisUrl };
    const all: Arm[] = [
      createDirectArm(direct),
      createGatewayArm({ ...common, ...(await upstreams.forArm("D")), key: "D", name: "bare-gateway", description: "Tollgate, one open route, events recorded", configExtra: options.gatewayConfigExtra }),
      createGatewayArm({
        ...common,
        ...(await upstreams.forArm("K")),
        key: "K",
        name: "key-auth",
        description: `Tollgate, API-key auth + authorization, ${keyCount} active keys, no limits`,
        configExtra: authRoute("/bench"),
        prepare: seeded(unlimitedPlan),
      }),
      createGatewayArm({
        ...common,
        ...(await upstreams.forArm("M")),
        key: "M",
        name: "limits-memory",
        description: "Tollgate, API-key auth + 2 plan rate limits + monthly quota, counters in memory",
        configExtra: authRoute("/bench"),
        prepare: seeded(limitedPlan),
      }),
      createGatewayArm({
        ...common,
        ...(await upstreams.forArm("R")),
        key: "R",
        name: "limits-redis",
        description: "Tollgate, API-key auth + 2 plan rate limits + monthly quota, counters in Redis",
        configExtra: {
          ...authRoute("/bench"),
          rateLimit: { store: redisStore, keyPrefix: `${redisPrefix}rl:` },
          quota: { store: redisStore, keyPrefix: `${redisPrefix}quota:` },
        },
        prepare: seeded(limitedPlan),
      }),
    ];
    const arms = selectArms(all, options.arms);
    for (const arm of arms) log(`  ${arm.key} ${arm.name}: ${arm.description}`);

    const rounds = await runBench(arms, shapes, runBenchOptionsOf(options, tmpDir, [...options.headers, `x-api-key: ${key}`]));

    const summary = summarizeBench(rounds, arms, displayShapes, "A", policyComparisons, policyThresholds);
    const loadAfter = loadavg();
    log(formatSummary(summary, displayShapes));
    log(`\nLoad average before ${formatLoadAverage(loadBefore)}, after ${formatLoadAverage(loadAfter)}.`);
    writeRawResults(options, "policy-bench", startedAt, {
      meta: { startedAt, keyCount, redisUrl, loadBefore, loadAfter },
      options: { ...options, headers: ["(the API key is left out)"] },
      rounds,
      summary,
    });
    return benchExitCode(rounds, summary, options.strict);
  } finally {
    await upstreams.stop();
    deleteBenchRedisKeys(redisPrefix);
    processRegistry.removeTempDirs();
  }
}

await runBenchScript(
  `${benchUsage}\n\nThe policy bench (npm run bench:policies) takes the same flags; its arms are A, D, K, M, R. TOLLGATE_BENCH_KEYS sets the number of keys (10000).`,
  main,
);
