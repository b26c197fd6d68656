import { cpus, loadavg } from "node:os";
import type { Arm } from "./arm.js";
import { benchUsage, type BenchOptions } from "./bench-options.js";
import { formatSummary, summarizeBench, type Comparison } from "./bench-report.js";
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
import { findFreePort } from "./free-port.js";
import { httpGet } from "./http-get.js";
import { spawnTracked, stopTracked } from "./process-registry.js";
import { runBench } from "./run-bench.js";
import { waitUntil } from "./wait-until.js";

/**
 * The cache benchmark: what a cache hit through the gateway costs, against calling the
 * upstream directly. In one run, interleaved over rounds, on loopback against the nginx
 * upstream of the gateway bench:
 *
 *   A  the upstream directly
 *   D  the bare gateway (one open route, no cache, events recorded)
 *   C  the same route with a response cache in memory: every request after the first is a hit
 *   S  the same with the shared Redis store (REDIS_URL, default redis://127.0.0.1:6379, a unique key prefix)
 *   E  an upstream with a service time: a Node server answering each request after
 *      TOLLGATE_BENCH_SERVICE_MS (default 5) ms, as a database-backed endpoint would
 *   F  the gateway with the memory cache in front of E
 *
 * nginx returning a fixed body is the cheapest upstream there is (about 184k req/s on one
 * worker here, against about 20k for the gateway doing anything at all): no cache in a
 * Node process beats it, and C/A says how far off it is. What a cache is for is an
 * upstream that takes time, which E stands for; F/E is the figure with the target.
 *
 * The route's cache has a default TTL (the nginx upstream sends no Cache-Control), so
 * one request per arm and round reaches the upstream; the bench prints how many did.
 * Every hit is still recorded as a RequestCompleted event. See docs/benchmarks.md.
 */

const redisUrl = benchRedisUrl;
const serviceMs = Number(process.env.TOLLGATE_BENCH_SERVICE_MS ?? 5);

/** The upstream with a service time: one Node process, the response after `serviceMs` of waiting (no CPU spent). */
const serviceUpstreamScript = `
const { createServer } = require("node:http");
const [port, delayMs] = process.argv.slice(1).map(Number);
const server = createServer((req, res) => {
  req.resume();
  setTimeout(() => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": "3" });
    res.end("ok\\n");
  }, delayMs);
});
server.keepAliveTimeout = 65000;
server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`;

interface ServiceUpstream {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startServiceUpstream(delayMs: number): Promise<ServiceUpstream> {
  const port = await findFreePort();
  const tracked = await spawnTracked("service-upstream", process.execPath, ["-e", serviceUpstreamScript, String(port), String(delayMs)], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(`the service-time upstream on port ${port}`, async () => (await httpGet(`${url}/`, 1_000)).status === 200);
  return { url, pid: tracked.pid, stop: async () => void (await stopTracked(tracked, "SIGTERM", 5_000)) };
}

function serviceDirectArm(upstream: ServiceUpstream): Arm {
  return {
    key: "E",
    name: "service-direct",
    description: `a Node upstream answering after ${serviceMs} ms (a database-backed endpoint), called directly`,
    start: () => Promise.resolve({ url: upstream.url, pid: upstream.pid }),
    stop: () => Promise.resolve({}),
  };
}

export const cacheComparisons: readonly Comparison[] = [
  { label: "cache hit req/s / direct upstream with service time req/s", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "F", b: "E", unit: "x", target: { op: ">=", value: 1 } },
  { label: "cache hit p50 added over direct with service time, open loop", kind: "difference", shape: "rate", metric: "p50Us", a: "F", b: "E", unit: "ms", target: { op: "<", value: 0 } },
  { label: "cache hit p99 added over direct with service time, open loop", kind: "difference", shape: "rate", metric: "p99Us", a: "F", b: "E", unit: "ms" },
  { label: "cache hit (memory) req/s / direct nginx req/s", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "C", b: "A", unit: "x" },
  { label: "cache hit (memory) req/s / bare gateway req/s", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "C", b: "D", unit: "x", target: { op: ">=", value: 1 } },
  { label: "cache hit (Redis) req/s / direct upstream req/s", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "S", b: "A", unit: "x" },
  { label: "cache hit (Redis) req/s / bare gateway req/s", kind: "ratio", shape: "sat", metric: "requestsPerSec", a: "S", b: "D", unit: "x" },
  { label: "cache hit (memory) p99 added over direct, open loop", kind: "difference", shape: "rate", metric: "p99Us", a: "C", b: "A", unit: "ms" },
  { label: "cache hit (memory) p50 added over direct, open loop", kind: "difference", shape: "rate", metric: "p50Us", a: "C", b: "A", unit: "ms" },
  { label: "cache hit (memory) CPU/req / bare gateway CPU/req", kind: "ratio", shape: "sat", metric: "cpuUsPerRequest", a: "C", b: "D", unit: "x" },
];

async function main(options: BenchOptions): Promise<number> {
  const tmpDir = createBenchTempDir("tollgate-cache-bench-", options);
  const redisPrefix = benchRedisPrefix();

  const startedAt = new Date();
  const loadBefore = loadavg();
  log(`Tollgate cache bench, ${startedAt.toISOString()}: node ${process.version}, ${cpus().length} CPUs, load average ${formatLoadAverage(loadBefore)}`);

  const { shapes, displayShapes } = benchShapes(options);
  const cachedRoute = { routes: [{ id: "bench", match: { pathPrefix: "/bench" }, upstream: "bench", cache: { ttlSeconds: 3_600 } }] };

  const upstreams = new ArmUpstreams(tmpDir);
  let service: ServiceUpstream | undefined;
  try {
    const direct = await upstreams.start("upstream");
    service = await startServiceUpstream(serviceMs);
    const common = { repoRoot, gatewayMain, tmpDir, routePrefix: "/bench", nodeArgs: options.gatewayNodeArgs };
    const all: Arm[] = [
      createDirectArm(direct),
      createGatewayArm({ ...common, ...(await upstreams.forArm("D")), key: "D", name: "bare-gateway", description: "Tollgate, one open route, no cache, events recorded", configExtra: options.gatewayConfigExtra }),
      createGatewayArm({
        ...common,
        ...(await upstreams.forArm("C")),
        key: "C",
        name: "cache-memory",
        description: "Tollgate, the same route with a response cache in memory (ttlSeconds 3600): all hits after the first request",
        configExtra: cachedRoute,
      }),
      createGatewayArm({
        ...common,
        ...(await upstreams.forArm("S")),
        key: "S",
        name: "cache-redis",
        description: "Tollgate, the same route with the shared Redis cache store",
        configExtra: { ...cachedRoute, cache: { store: "redis", keyPrefix: `${redisPrefix}cache:`, redis: { url: redisUrl, timeoutMs: 200 } } },
      }),
      serviceDirectArm(service),
      createGatewayArm({
        ...common,
        upstreamUrl: service.url,
        key: "F",
        name: "cache-service",
        description: "Tollgate with the memory cache, in front of the service-time upstream (E)",
        configExtra: cachedRoute,
      }),
    ];
    const arms = selectArms(all, options.arms);
    for (const arm of arms) log(`  ${arm.key} ${arm.name}: ${arm.description}`);

    const rounds = await runBench(arms, shapes, runBenchOptionsOf(options, tmpDir));

    const summary = summarizeBench(rounds, arms, displayShapes, "A", cacheComparisons, []);
    const loadAfter = loadavg();
    log(formatSummary(summary, displayShapes));
    // Only the nginx upstream counts what it served; F's upstream is E.
    for (const key of ["C", "S"]) {
      const served = rounds.filter((round) => round.arm === key).map((round) => `${round.upstreamServed ?? "?"} of ${round.clientCompleted}`);
      if (served.length > 0) log(`Upstream requests while arm ${key} ran, by round: ${served.join(", ")}`);
    }
    log(`\nLoad average before ${formatLoadAverage(loadBefore)}, after ${formatLoadAverage(loadAfter)}.`);
    writeRawResults(options, "cache-bench", startedAt, { meta: { startedAt, redisUrl, loadBefore, loadAfter }, options, rounds, summary });
    return benchExitCode(rounds, summary, options.strict);
  } finally {
    await upstreams.stop();
    await service?.stop();
    deleteBenchRedisKeys(redisPrefix);
    processRegistry.removeTempDirs();
  }
}

await runBenchScript(
  `${benchUsage}\n\nThe cache bench (npm run bench:cache) takes the same flags; its arms are A, D, C, S, E, F. TOLLGATE_BENCH_SERVICE_MS sets E's service time (5).`,
  main,
);
