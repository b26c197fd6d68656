import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Arm, ArmStopReport, BenchUpstream, RunningArm } from "./arm.js";
import { spawnTracked, stopTracked, type TrackedChild } from "./process-registry.js";

const passthroughScript = fileURLToPath(new URL("./undici-passthrough.js", import.meta.url));

/** Arm B: a bare node:http + undici Pool passthrough in its own process: the Node ceiling. */
export function createUndiciPassthroughArm(options: { upstreamUrl: string; upstream?: BenchUpstream; key?: string }): Arm {
  let tracked: TrackedChild | undefined;
  return {
    key: options.key ?? "B",
    ...(options.upstream ? { upstream: options.upstream } : {}),
    name: "undici",
    description: "bare node:http server forwarding through an undici Pool (bench/src/undici-passthrough.ts): the Node ceiling",
    async start(): Promise<RunningArm> {
      tracked = await spawnTracked("undici passthrough", process.execPath, [passthroughScript, options.upstreamUrl, "0"], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const child = tracked;
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("undici passthrough did not report its port within 10 s")), 10_000);
        void child.exited.then(({ code, signal }) => reject(new Error(`undici passthrough exited early with ${code ?? signal}`)));
        createInterface({ input: child.child.stdout! }).on("line", (line) => {
          try {
            const message = JSON.parse(line) as { msg?: string; port?: number };
            if (message.msg === "listening" && typeof message.port === "number") {
              clearTimeout(timer);
              resolve(message.port);
            }
          } catch {
            // not a JSON line: ignore
          }
        });
      });
      return { url: `http://127.0.0.1:${port}`, pid: tracked.pid };
    },
    async stop(): Promise<ArmStopReport> {
      if (!tracked) return {};
      const result = await stopTracked(tracked, "SIGTERM", 5_000);
      tracked = undefined;
      return { detail: { exit: result } };
    },
  };
}
