import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gatewayNodeOptions } from "@tollgate/gateway/node-options";
import type { Arm, ArmStopReport, BenchUpstream, RunningArm } from "./arm.js";
import { countRequestEvents } from "./count-request-events.js";
import { deepMerge } from "./deep-merge.js";
import { spawnTracked, stopTracked, type TrackedChild } from "./process-registry.js";
import { waitUntil } from "./wait-until.js";

export interface GatewayArmOptions {
  key?: string;
  name?: string;
  description?: string;
  repoRoot: string;
  /** services/gateway/dist/main.js */
  gatewayMain: string;
  upstreamUrl: string;
  /** The upstream behind upstreamUrl, when the bench counts its requests (its own, see Arm.upstream). */
  upstream?: BenchUpstream;
  tmpDir: string;
  /** Path prefix of the one route to the upstream. */
  routePrefix: string;
  /** Deep-merged over the generated config (auth, rate limits, ... for later benchmarks). */
  configExtra: Record<string, unknown> | null;
  /**
   * Node flags before the script (--cpu-prof, --trace-gc), after those every launcher
   * passes (gatewayNodeOptions); the process runs in its temp folder, so profiles land there.
   */
  nodeArgs?: readonly string[];
  /** Runs in the arm's fresh folder before each start, e.g. to seed the event log with control-plane state. */
  prepare?: (dir: string, eventsFile: string) => Promise<void>;
}

export const benchGatewayId = "bench-gw";

/**
 * The gateway config of the bench: one route to the upstream, event recording into a
 * SQLite file of its own, everything else at its default (access log included). Written
 * as JSON, which the gateway's config loader reads like YAML.
 */
export function benchGatewayConfig(dir: string, upstreamUrl: string, routePrefix: string, extra: Record<string, unknown> | null): Record<string, unknown> {
  const base = {
    gatewayId: benchGatewayId,
    listen: { host: "127.0.0.1", port: 0 },
    status: { host: "127.0.0.1", port: 0 },
    eventStore: { kind: "sqlite", file: join(dir, "events.db") },
    recorder: { spoolDir: join(dir, "spool") },
    upstreams: { bench: { targets: [upstreamUrl] } },
    routes: [{ id: "bench", match: { pathPrefix: routePrefix }, upstream: "bench" }],
  };
  return extra === null ? base : deepMerge(base, extra);
}

/**
 * The port of the client listener, from the gateway's JSON log: the first line whose
 * message says it is listening, that carries a port and is not about the status server.
 */
export function listeningPortFromLog(text: string): number | null {
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const msg = typeof entry.msg === "string" ? entry.msg : "";
    if (!/listening/i.test(msg) || /status/i.test(msg)) continue;
    if (typeof entry.port === "number" && entry.port > 0) return entry.port;
    const listen = entry.listen;
    if (typeof listen === "object" && listen !== null && typeof (listen as { port?: unknown }).port === "number") return (listen as { port: number }).port;
  }
  return null;
}

function bytesUnder(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

/** Arm D: the real gateway (services/gateway/dist/main.js), recording every request into SQLite. */
export function createGatewayArm(options: GatewayArmOptions): Arm {
  let tracked: TrackedChild | undefined;
  let dir = "";
  let starts = 0;
  return {
    key: options.key ?? "D",
    ...(options.upstream ? { upstream: options.upstream } : {}),
    name: options.name ?? "tollgate",
    description:
      options.description ??
      `Tollgate gateway (${options.gatewayMain}), one route, events recorded into SQLite${options.configExtra ? ", with --gateway-config-extra" : ""}`,
    async start(): Promise<RunningArm> {
      if (!existsSync(options.gatewayMain)) {
        throw new Error(`${options.gatewayMain} does not exist: build the gateway first (npx turbo run build --filter=@tollgate/gateway...)`);
      }
      starts++;
      dir = join(options.tmpDir, `arm-${options.key ?? "D"}-gateway-${starts}`);
      mkdirSync(dir, { recursive: true });
      await options.prepare?.(dir, join(dir, "events.db"));
      const configFile = join(dir, "gateway.json");
      writeFileSync(configFile, `${JSON.stringify(benchGatewayConfig(dir, options.upstreamUrl, options.routePrefix, options.configExtra), null, 2)}\n`);
      const logFile = join(dir, "gateway.log");
      const out = openSync(logFile, "a");
      // The bench's config is the whole config: no TOLLGATE_GATEWAY__* overrides from the caller's environment.
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("TOLLGATE_GATEWAY__")));
      tracked = await spawnTracked("gateway", process.execPath, [...gatewayNodeOptions, ...(options.nodeArgs ?? []), options.gatewayMain, "--config", configFile], {
        cwd: dir,
        env,
        stdio: ["ignore", out, out],
      });
      closeSync(out);
      const child = tracked;
      let port: number | null = null;
      try {
        await waitUntil(
          "the gateway's listening log line",
          () => {
            if (child.child.exitCode !== null || child.child.signalCode !== null) {
              throw new Error(`gateway exited with ${child.child.exitCode ?? child.child.signalCode}; log:\n${readFileSync(logFile, "utf8").slice(-3_000)}`);
            }
            port = listeningPortFromLog(readFileSync(logFile, "utf8"));
            return Promise.resolve(port !== null);
          },
          15_000,
          25,
        );
      } catch (error) {
        await stopTracked(child, "SIGKILL");
        tracked = undefined;
        throw error;
      }
      return { url: `http://127.0.0.1:${port!}`, pid: child.pid };
    },
    async stop(): Promise<ArmStopReport> {
      if (!tracked) return {};
      // SIGTERM: the gateway drains requests in flight and flushes its recorder before exiting.
      const exit = await stopTracked(tracked, "SIGTERM", 60_000);
      tracked = undefined;
      const logFile = join(dir, "gateway.log");
      const eventsFile = join(dir, "events.db");
      const detail: Record<string, unknown> = { exit, dir, spoolBytes: bytesUnder(join(dir, "spool")) };
      if (exit.killed || exit.code !== 0) detail.logTail = readFileSync(logFile, "utf8").slice(-3_000);
      if (!existsSync(eventsFile)) return { requestEvents: 0, detail: { ...detail, problem: "no events file" } };
      const count = countRequestEvents(eventsFile, benchGatewayId, options.repoRoot);
      return { requestEvents: count.total, detail: { ...detail, eventsByType: count.byType } };
    },
  };
}
