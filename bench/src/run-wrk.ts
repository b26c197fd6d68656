import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnTracked, stopTracked } from "./process-registry.js";
import { parseWrkOutput, wrkDoneScript, type WrkResult } from "./wrk-output.js";

export const wrkBinary = process.env.TOLLGATE_BENCH_WRK ?? "/usr/bin/wrk";

export interface WrkOptions {
  url: string;
  connections: number;
  threads: number;
  durationS: number;
  /** Extra request headers, "Name: value". */
  headers: readonly string[];
  /** Folder where the Lua script is written. */
  dir: string;
}

/** Writes wrk's done() script into `dir` once; returns its path. */
function scriptIn(dir: string): string {
  const path = join(dir, "wrk-done.lua");
  writeFileSync(path, wrkDoneScript);
  return path;
}

/**
 * One closed-loop saturation run: `connections` connections, each sending its next
 * request as soon as the previous response arrived. Bounded by wrk's own -d and, as a
 * safety net, killed 15 s after that.
 */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const threads = Math.max(1, Math.min(options.threads, options.connections));
  const args = [
    `-t${threads}`,
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    "--timeout",
    "5s",
    "--latency",
    "-s",
    scriptIn(options.dir),
    ...options.headers.flatMap((header) => ["-H", header]),
    options.url,
  ];
  const tracked = await spawnTracked("wrk", wrkBinary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  tracked.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  tracked.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const guard = setTimeout(() => void stopTracked(tracked, "SIGKILL"), (options.durationS + 15) * 1_000);
  const { code, signal } = await tracked.exited;
  clearTimeout(guard);
  if (code !== 0) throw new Error(`wrk ${args.join(" ")} ended with ${code ?? signal}:\n${stderr}${stdout}`);
  return parseWrkOutput(stdout);
}
