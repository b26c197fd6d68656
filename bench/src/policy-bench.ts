import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PlanDefinition } from "@tollgate/events";
import type { Arm } from "./arm.js";
import { benchUsage, BenchOptionsError, parseBenchOptions, type BenchOptions } from "./bench-options.js";
import { formatSummary, summarizeBench, type Comparison, type Threshold } from "./bench-report.js";
import { createDirectArm } from "./direct-arm.js";
import { createGatewayArm } from "./gateway-arm.js";
import type { LoadShape } from "./load-shape.js";
import { nginxBinary, startNginx, type NginxServer } from "./nginx-server.js";
import { stringifyNonFinite } from "./non-finite-json.js";
import { processRegistry } from "./process-registry.js";
import { runBench } from "./run-bench.js";
import { wrkBinary } from "./run-wrk.js";
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

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const log = (line: string): void => void process.stdout.write(`${line}\n`);
const keyCount = Number(process.env.TOLLGATE_BENCH_KEYS ?? 10_000);
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

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

function redisCli(...args: string[]): string {
  return execFileSync("redis-cli", ["-u", redisUrl, "--raw", ...args], { encoding: "utf8", timeout: 10_000 }).trim();
}

function deleteRedisKeys(prefix: string): void {
  const keys = redisCli("--scan", "--pattern", `${prefix}*`).split("\n").filter((key) => key !== "");
  for (let at = 0; at < keys.length; at += 500) redisCli("DEL", ...keys.slice(at, at + 500));
}

async function main(options: BenchOptions): Promise<number> {
  const gatewayMain = join(repoRoot, "services", "gateway", "dist", "main.js");
  const tmpDir = mkdtempSync(join(tmpdir(), "tollgate-policy-bench-"));
  processRegistry.trackTempDir(tmpDir);
  processRegistry.setKeepTemp(options.keepTemp);
  processRegistry.installExitHandlers(log);
  if (redisCli("PING") !== "PONG") throw new Error(`Redis at ${redisUrl} does not answer PING (set REDIS_URL, or start redis-server)`);
  const redisPrefix = `tollgate-bench:${randomUUID()}:`;

  const startedAt = new Date();
  const loadBefore = loadavg();
  log(`Tollgate policy bench, ${startedAt.toISOString()}: node ${process.version}, ${cpus().length} CPUs, load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`);
  const keys = generateKeys(keyCount);
  const key = keys[0]?.key ?? "";
  log(`${keyCount} consumers with an API key and a subscription each; the load uses one of them. Redis: ${redisUrl}, prefix ${redisPrefix}`);

  const shapes: LoadShape[] = [
    { kind: "open-loop", name: "rate", rate: options.rate, connections: options.openLoopConnections, durationS: options.durationS, warmupS: 1 },
    { kind: "saturation", name: "sat", connections: options.connections, threads: options.threads, durationS: options.durationS },
  ];
  const displayShapes = [shapes[1]!, shapes[0]!];

  const authRoute = (prefix: string): Record<string, unknown> => ({
    identity: { startupWaitMs: 120_000 },
    routes: [{ id: "bench", match: { pathPrefix: prefix }, upstream: "bench", auth: [{ type: "api-key" }] }],
  });
  const seeded = (plan: Pick<PlanDefinition, "rateLimits" | "quota">) => async (_dir: string, eventsFile: string) => {
    await seedIdentity(eventsFile, { keys, plan });
  };

  let upstream: NginxServer | undefined;
  try {
    upstream = await startNginx("upstream", join(tmpDir, "upstream"), { kind: "upstream", body: "ok\n" });
    const common = { repoRoot, gatewayMain, upstreamUrl: upstream.url, tmpDir, routePrefix: "/bench", nodeArgs: options.gatewayNodeArgs };
    const redisStore = { kind: "redis", url: redisUrl };
    const all: Arm[] = [
      createDirectArm(upstream),
      createGatewayArm({ ...common, key: "D", name: "bare-gateway", description: "Tollgate, one open route, events recorded", configExtra: options.gatewayConfigExtra }),
      createGatewayArm({
        ...common,
        key: "K",
        name: "key-auth",
        description: `Tollgate, API-key auth + authorization, ${keyCount} active keys, no limits`,
        configExtra: authRoute("/bench"),
        prepare: seeded(unlimitedPlan),
      }),
      createGatewayArm({
        ...common,
        key: "M",
        name: "limits-memory",
        description: "Tollgate, API-key auth + 2 plan rate limits + monthly quota, counters in memory",
        configExtra: authRoute("/bench"),
        prepare: seeded(limitedPlan),
      }),
      createGatewayArm({
        ...common,
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
    const arms = options.arms === null ? all : all.filter((arm) => options.arms!.some((wanted) => wanted.toLowerCase() === arm.key.toLowerCase() || wanted === arm.name));
    for (const arm of arms) log(`  ${arm.key} ${arm.name}: ${arm.description}`);

    const rounds = await runBench(arms, shapes, {
      rounds: options.rounds,
      order: options.order,
      warmupS: options.warmupS,
      warmupConnections: options.connections,
      settleS: options.settleS,
      path: options.path,
      headers: [...options.headers, `x-api-key: ${key}`],
      tmpDir,
      upstream,
      log,
    });

    const summary = summarizeBench(rounds, arms, displayShapes, "A", policyComparisons, policyThresholds);
    const loadAfter = loadavg();
    log(formatSummary(summary, displayShapes));
    log(`\nLoad average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}.`);
    const out = resolve(options.out ?? join(tmpdir(), "tollgate-bench", `policy-bench-${startedAt.toISOString().replaceAll(":", "-")}.json`));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${stringifyNonFinite({ meta: { startedAt, keyCount, redisUrl, loadBefore, loadAfter }, options: { ...options, headers: ["(the API key is left out)"] }, rounds, summary }, 2)}\n`);
    log(`Raw results: ${out}`);
    if (rounds.some((round) => round.error !== null)) return 1;
    const verdicts = [...summary.comparisons, ...summary.thresholds].map((figure) => figure.verdict);
    return options.strict && verdicts.includes("FAIL") ? 1 : 0;
  } finally {
    await upstream?.stop();
    deleteRedisKeys(redisPrefix);
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
  log(`${benchUsage}\n\nThe policy bench (npm run bench:policies) takes the same flags; its arms are A, D, K, M, R. TOLLGATE_BENCH_KEYS sets the number of keys (10000).`);
  process.exit(0);
}
try {
  for (const [path, pkg] of [
    [nginxBinary, "nginx"],
    [wrkBinary, "wrk"],
  ] as const) {
    try {
      execFileSync(path, ["-v"], { stdio: "ignore" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`${path} not found: the bench needs it (apt-get install -y ${pkg})`);
    }
  }
  process.exitCode = await main(options);
} catch (error) {
  if (error instanceof BenchOptionsError) {
    process.stderr.write(`${error.message}\n\n${benchUsage}\n`);
    process.exitCode = 2;
  } else if (processRegistry.interrupted === null) {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
