import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
/** The built projector; `npx turbo run build --filter=@tollgate/analytics-projector...` builds it. */
export const analyticsProjectorMain = require.resolve("@tollgate/analytics-projector/main");

export interface AnalyticsProjectorProcess {
  child: ChildProcess;
  pid: number;
  statusUrl: string;
  lines: string[];
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

/** Writes `config` to `dir` and runs the real projector on it; resolves once it logs `listening`. */
export async function startAnalyticsProjectorProcess(
  dir: string,
  config: Record<string, unknown>,
  options: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; name?: string } = {},
): Promise<AnalyticsProjectorProcess> {
  const configFile = join(dir, `${options.name ?? "analytics-projector"}.json`);
  writeFileSync(configFile, JSON.stringify({ status: { host: "127.0.0.1", port: 0 }, logLevel: "info", ...config }, null, 2));
  // CLICKHOUSE_URL from the environment would override the config's store: cleared unless the test sets it.
  const child = spawn(process.execPath, [analyticsProjectorMain, "--config", configFile], { env: { ...process.env, CLICKHOUSE_URL: "", ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const statusPort = await new Promise<number>((resolve, reject) => {
    void exited.then((code) => reject(new Error(`analytics projector exited with ${String(code)} before listening:\n${lines.join("\n")}`)));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        options.onLine?.(line);
        if (line.includes('"msg":"listening"')) resolve((JSON.parse(line) as { statusPort: number }).statusPort);
      });
    }
  });
  return {
    child,
    pid: child.pid!,
    statusUrl: `http://127.0.0.1:${statusPort}`,
    lines,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Runs the projector binary once with `args` (--rebuild, --migrate) to completion. */
export async function runAnalyticsProjector(dir: string, config: Record<string, unknown>, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const configFile = join(dir, "analytics-projector-run.json");
  writeFileSync(configFile, JSON.stringify({ logLevel: "info", ...config }, null, 2));
  const child = spawn(process.execPath, [analyticsProjectorMain, "--config", configFile, ...args], { env: { ...process.env, CLICKHOUSE_URL: "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  for (const stream of [child.stdout, child.stderr]) stream.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, output };
}
