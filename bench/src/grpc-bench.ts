import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  credentials,
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { Pool } from "undici";
import { createGatewayArm } from "./gateway-arm.js";
import { median, summarizeLatencies } from "./percentile.js";
import { cpuMicrosPerRequest, otherWorkCores, sampleMachine, sampleProcessTree, type ProcTreeSample } from "./proc-stats.js";
import { processRegistry, spawnTracked, stopTracked } from "./process-registry.js";

/**
 * The gRPC transcoding benchmark (npm run bench:grpc). In one run, interleaved over
 * rounds, a closed loop of `concurrency` requests in flight against:
 *
 *   T  HTTP/JSON → the gateway → gRPC upstream (transcoding: GET with path and query binding, unary GetThing)
 *   G  the gRPC upstream directly, from a grpc-js client (what a gRPC client gets without the gateway)
 *   R  HTTP/JSON → the gateway → HTTP/JSON upstream (the REST passthrough, same gateway process, same answer)
 *   H  the HTTP/JSON upstream directly
 *
 * The two upstreams live in one child process and answer the same Thing (the HTTP one
 * serializes it with JSON.stringify per request, the gRPC one with protobuf). The
 * gateway records every request into SQLite, as in production; the event count is
 * checked against the requests sent. Load is generated in this process (undici for
 * HTTP, grpc-js for gRPC), so the client side costs the same kind of work in each arm.
 * See docs/benchmarks.md.
 */

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const protoFile = join(repoRoot, "services", "gateway", "src", "grpc", "testdata", "things.proto");
const protosDir = join(repoRoot, "services", "gateway", "protos");
const service = "tollgate.testing.v1.Things";
const log = (line: string): void => void process.stdout.write(`${line}\n`);

type Plain = Record<string, unknown>;

function thingsConstructor(): ServiceClientConstructor {
  const definition = loadSync(protoFile, { includeDirs: [protosDir], longs: String, enums: String, defaults: true });
  const pkg = loadPackageDefinition(definition) as unknown as { tollgate: { testing: { v1: GrpcObject } } };
  return pkg.tollgate.testing.v1.Things as ServiceClientConstructor;
}

/** The answer of both upstreams, in the shape a service would build it (proto-loader's camelCase). */
function thing(id: string, shelfId: string, minCount: string): Plain {
  return {
    id,
    shelfId,
    count: minCount,
    color: "GREEN",
    createdAt: { seconds: "1700000000", nanos: 123_000_000 },
    tags: ["alpha", "beta", "gamma"],
    owner: { name: "ann", level: 3 },
    score: 0.5,
    active: true,
    displayName: `Thing ${id}`,
  };
}

/** The same Thing in proto3 JSON, as the transcoder writes it (and so as the REST upstream answers). */
function thingJson(id: string, shelfId: string, minCount: string): Plain {
  return {
    id,
    shelfId,
    count: minCount,
    big: "0",
    color: "GREEN",
    createdAt: "2023-11-14T22:13:20.123Z",
    tags: ["alpha", "beta", "gamma"],
    owner: { name: "ann", level: 3 },
    blob: "",
    score: 0.5,
    active: true,
    label: `Thing ${id}`,
  };
}

/** Child process role: both upstreams, reporting their ports on stdout. */
async function runUpstreams(): Promise<void> {
  const Things = thingsConstructor();
  const server = new Server();
  server.addService(Things.service, {
    GetThing(call: { request: Plain }, callback: (error: ServiceError | null, value?: Plain) => void) {
      const request = call.request;
      callback(null, thing(String(request.id), String(request.shelfId), String(request.minCount)));
    },
  });
  const grpcPort = await new Promise<number>((done, fail) => {
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => (error === null ? done(port) : fail(error)));
  });
  const http = createServer((req, res) => {
    const match = /^\/rest\/shelves\/([^/]+)\/things\/([^/?]+)\?minCount=(-?\d+)/.exec(req.url ?? "");
    const body = JSON.stringify(thingJson(match?.[2] ?? "", match?.[1] ?? "", match?.[3] ?? "0"));
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  http.keepAliveTimeout = 60_000;
  await new Promise<void>((done) => http.listen(0, "127.0.0.1", done));
  const httpPort = (http.address() as { port: number }).port;
  log(JSON.stringify({ grpcPort, httpPort }));
  process.on("SIGTERM", () => {
    server.forceShutdown();
    http.closeAllConnections();
    http.close(() => process.exit(0));
  });
}

interface Loop {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
}

/** `concurrency` workers, each sending the next request as soon as the last one is answered, for `seconds`. */
async function closedLoop(concurrency: number, seconds: number, send: () => Promise<boolean>): Promise<Loop> {
  const latenciesMs: number[] = [];
  let errors = 0;
  const started = performance.now();
  const until = started + seconds * 1_000;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const at = performance.now();
      let ok = false;
      try {
        ok = await send();
      } catch {
        ok = false;
      }
      latenciesMs.push(performance.now() - at);
      if (!ok) errors += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { requests: latenciesMs.length, errors, seconds: (performance.now() - started) / 1_000, latenciesMs };
}

interface ArmResult {
  arm: string;
  round: number;
  requests: number;
  errors: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Gateway CPU µs per request (arms through the gateway); NaN otherwise. */
  gatewayCpuUsPerRequest: number;
  /** Cores used by other work on the machine meanwhile: the noise. */
  otherCores: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "3" },
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      concurrency: { type: "string", default: "32" },
      out: { type: "string" },
      "gateway-node-args": { type: "string", default: "" },
      "keep-temp": { type: "boolean", default: false },
    },
    strict: true,
  });
  const rounds = Number(values.rounds);
  const durationS = Number(values.duration);
  const warmupS = Number(values.warmup);
  const concurrency = Number(values.concurrency);
  const tmpDir = mkdtempSync(join(tmpdir(), "tollgate-grpc-bench-"));
  processRegistry.trackTempDir(tmpDir);
  processRegistry.setKeepTemp(values["keep-temp"]);
  processRegistry.installExitHandlers(log);

  const startedAt = new Date();
  const loadBefore = loadavg();
  log(`Tollgate gRPC bench, ${startedAt.toISOString()}: node ${process.version}, ${cpus().length} CPUs, load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`);
  log(`${rounds} rounds, ${durationS} s per arm per round (after ${warmupS} s warm-up), ${concurrency} requests in flight`);

  const upstreamChild = await spawnTracked("upstreams", process.execPath, [fileURLToPath(import.meta.url), "--upstreams"], { stdio: ["ignore", "pipe", "inherit"] });
  const ports = await new Promise<{ grpcPort: number; httpPort: number }>((done) => {
    createInterface({ input: upstreamChild.child.stdout! }).once("line", (line) => done(JSON.parse(line) as { grpcPort: number; httpPort: number }));
  });
  const grpcOrigin = `http://127.0.0.1:${ports.grpcPort}`;
  const httpOrigin = `http://127.0.0.1:${ports.httpPort}`;

  const gatewayArm = createGatewayArm({
    key: "GW",
    name: "gateway",
    description: "Tollgate with a gRPC route (/v1) and an HTTP route (/rest), events recorded into SQLite",
    repoRoot,
    gatewayMain: join(repoRoot, "services", "gateway", "dist", "main.js"),
    upstreamUrl: httpOrigin,
    tmpDir,
    routePrefix: "/rest",
    // --gateway-node-args=--cpu-prof profiles the gateway (the profile lands in its folder; add --keep-temp).
    nodeArgs: values["gateway-node-args"].split(" ").filter((arg) => arg !== ""),
    configExtra: {
      upstreams: { things: { targets: [grpcOrigin] } },
      routes: [
        { id: "bench", match: { pathPrefix: "/rest" }, upstream: "bench" },
        { id: "grpc", match: { pathPrefix: "/v1" }, upstream: "things", timeouts: { totalMs: 10_000 }, grpc: { protoFile, service, methods: ["GetThing"] } },
      ],
    },
  });

  const results: ArmResult[] = [];
  let sent = 0;
  let gatewayPid = 0;
  let eventReport: Awaited<ReturnType<typeof gatewayArm.stop>> = {};
  const Things = thingsConstructor();
  let grpcClient: Client | undefined;
  let gatewayPool: Pool | undefined;
  let httpPool: Pool | undefined;
  try {
    const running = await gatewayArm.start();
    gatewayPid = running.pid;
    gatewayPool = new Pool(running.url, { connections: concurrency, keepAliveTimeout: 60_000 });
    httpPool = new Pool(httpOrigin, { connections: concurrency, keepAliveTimeout: 60_000 });
    grpcClient = new Things(`127.0.0.1:${ports.grpcPort}`, credentials.createInsecure());
    const client = grpcClient as unknown as { GetThing(request: Plain, callback: (error: ServiceError | null) => void): void };

    let counter = 0;
    const httpGet = (pool: Pool, prefix: string, countsAtGateway: boolean) => async (): Promise<boolean> => {
      counter += 1;
      if (countsAtGateway) sent += 1;
      const res = await pool.request({ method: "GET", path: `${prefix}/shelves/s1/things/t${counter % 100}?minCount=-9223372036854775808` });
      await res.body.text();
      return res.statusCode === 200;
    };
    const arms: { key: string; description: string; send: () => Promise<boolean>; viaGateway: boolean }[] = [
      { key: "T", description: "HTTP/JSON → gateway → gRPC (transcoding)", send: httpGet(gatewayPool, "/v1", true), viaGateway: true },
      {
        key: "G",
        description: "gRPC upstream directly (grpc-js client)",
        send: () =>
          new Promise<boolean>((done) => {
            counter += 1;
            client.GetThing({ shelfId: "s1", id: `t${counter % 100}`, minCount: "-9223372036854775808" }, (error) => done(error === null));
          }),
        viaGateway: false,
      },
      { key: "R", description: "HTTP/JSON → gateway → HTTP/JSON upstream (REST passthrough)", send: httpGet(gatewayPool, "/rest", true), viaGateway: true },
      { key: "H", description: "HTTP/JSON upstream directly", send: httpGet(httpPool, "/rest", false), viaGateway: false },
    ];
    for (const arm of arms) log(`  ${arm.key}: ${arm.description}`);

    for (let round = 1; round <= rounds; round++) {
      // Each round starts with another arm, so that drift on the shared machine is spread over all of them.
      const order = arms.map((_, index) => arms[(index + round - 1) % arms.length]!);
      for (const arm of order) {
        await closedLoop(concurrency, warmupS, arm.send);
        const machineBefore = sampleMachine();
        const treesBefore: ProcTreeSample[] = [sampleProcessTree(gatewayPid), sampleProcessTree(upstreamChild.pid)];
        const loop = await closedLoop(concurrency, durationS, arm.send);
        const treesAfter: ProcTreeSample[] = [sampleProcessTree(gatewayPid), sampleProcessTree(upstreamChild.pid)];
        const machineAfter = sampleMachine();
        const treeTicks = treesAfter.reduce((sum, tree, index) => sum + tree.cpuTicks - treesBefore[index]!.cpuTicks, 0);
        const latencies = summarizeLatencies(loop.latenciesMs);
        const result: ArmResult = {
          arm: arm.key,
          round,
          requests: loop.requests,
          errors: loop.errors,
          requestsPerSec: loop.requests / loop.seconds,
          p50Ms: latencies.p50,
          p99Ms: latencies.p99,
          gatewayCpuUsPerRequest: arm.viaGateway ? cpuMicrosPerRequest(treesBefore[0]!, treesAfter[0]!, loop.requests) : Number.NaN,
          otherCores: otherWorkCores(machineBefore, machineAfter, treeTicks),
        };
        results.push(result);
        log(
          `round ${round} ${arm.key}: ${result.requestsPerSec.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ` +
            `${result.errors} errors${arm.viaGateway ? `, gateway ${result.gatewayCpuUsPerRequest.toFixed(0)} µs CPU/req` : ""}, other work ${result.otherCores.toFixed(2)} cores`,
        );
      }
    }
  } finally {
    grpcClient?.close();
    await gatewayPool?.close();
    await httpPool?.close();
    eventReport = await gatewayArm.stop();
    await stopTracked(upstreamChild, "SIGTERM");
  }

  const byArm = (key: string, pick: (result: ArmResult) => number): number => median(results.filter((result) => result.arm === key).map(pick));
  const summary = ["T", "G", "R", "H"].map((key) => ({
    arm: key,
    requestsPerSec: byArm(key, (r) => r.requestsPerSec),
    p50Ms: byArm(key, (r) => r.p50Ms),
    p99Ms: byArm(key, (r) => r.p99Ms),
    gatewayCpuUsPerRequest: byArm(key, (r) => r.gatewayCpuUsPerRequest),
    errors: results.filter((r) => r.arm === key).reduce((sum, r) => sum + r.errors, 0),
  }));
  const rate = (key: string): number => summary.find((row) => row.arm === key)!.requestsPerSec;
  const ratios = {
    "transcoding / direct gRPC (req/s)": rate("T") / rate("G"),
    "transcoding / REST passthrough (req/s)": rate("T") / rate("R"),
    "REST passthrough / direct HTTP (req/s)": rate("R") / rate("H"),
  };
  const loadAfter = loadavg();
  log("\nMedians over rounds:");
  log("arm  req/s     p50 ms   p99 ms   gateway µs CPU/req  errors");
  for (const row of summary) {
    log(
      `${row.arm.padEnd(4)} ${row.requestsPerSec.toFixed(0).padStart(8)} ${row.p50Ms.toFixed(2).padStart(8)} ${row.p99Ms.toFixed(2).padStart(8)} ${
        Number.isNaN(row.gatewayCpuUsPerRequest) ? "-".padStart(19) : row.gatewayCpuUsPerRequest.toFixed(0).padStart(19)
      }  ${row.errors}`,
    );
  }
  for (const [label, value] of Object.entries(ratios)) log(`${label}: ${value.toFixed(2)}x`);
  log(`Other work on the machine during the measured windows: median ${median(results.map((r) => r.otherCores)).toFixed(2)} cores, max ${Math.max(...results.map((r) => r.otherCores)).toFixed(2)}`);
  log(`Load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}.`);
  const events = eventReport.requestEvents ?? 0;
  log(`Request events in the gateway's log: ${events} for ${sent} requests sent through it (warm-ups included)${events === sent ? "" : " — MISMATCH"}.`);
  const out = resolve(values.out ?? join(tmpdir(), "tollgate-bench", `grpc-bench-${startedAt.toISOString().replaceAll(":", "-")}.json`));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ meta: { startedAt, loadBefore, loadAfter, rounds, durationS, warmupS, concurrency }, results, summary, ratios, events, sent }, (_key, value: unknown) => (typeof value === "number" && !Number.isFinite(value) ? null : value), 2)}\n`);
  log(`Raw results: ${out}`);
  processRegistry.removeTempDirs();
  return events === sent && summary.every((row) => row.errors === 0) ? 0 : 1;
}

if (process.argv.includes("--upstreams")) {
  await runUpstreams();
} else {
  try {
    process.exitCode = await main();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
