import { fileURLToPath } from "node:url";
import { parseNonFinite, stringifyNonFinite } from "./non-finite-json.js";
import type { OpenLoopConfig, OpenLoopResult } from "./open-loop-result.js";
import { spawnTracked, stopTracked } from "./process-registry.js";

const generatorScript = fileURLToPath(new URL("./open-loop-load.js", import.meta.url));

/** Runs the open-loop generator as its own process and returns its report. Killed if it overruns by 15 s. */
export async function runOpenLoop(config: OpenLoopConfig): Promise<OpenLoopResult> {
  const tracked = await spawnTracked("open-loop generator", process.execPath, [generatorScript, stringifyNonFinite(config)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  tracked.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  tracked.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const limitMs = (config.warmupS + config.durationS + config.drainTimeoutS + 15) * 1_000;
  const guard = setTimeout(() => void stopTracked(tracked, "SIGKILL"), limitMs);
  const { code, signal } = await tracked.exited;
  clearTimeout(guard);
  const line = stdout.trim().split("\n").pop() ?? "";
  if (code !== 0 || !line.startsWith("{")) throw new Error(`open-loop generator ended with ${code ?? signal}:\n${stderr}${stdout}`);
  return parseNonFinite(line) as OpenLoopResult;
}
