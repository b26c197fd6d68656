import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
/** The built control-plane entry point; `npm test` builds it first. */
export const controlPlaneMain = require.resolve("@tollgate/control-plane/main");
/** The built CLI entry point (`tollgate`). */
export const cliMain = fileURLToPath(new URL("../../../services/cli/dist/main.js", import.meta.url));

export interface ControlPlaneProcess {
  url: string;
  port: number;
  dir: string;
  eventsFile: string;
  /** Every line the process printed, stdout and stderr. */
  lines: string[];
  child: ChildProcess;
  exited: Promise<number | null>;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | null>;
  /** Stops if still running and removes the temp folder. */
  cleanup(): Promise<void>;
}

/** Starts the real control-plane process on a free port, with its SQLite log in a fresh temp folder. */
export async function startControlPlaneProcess(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<ControlPlaneProcess> {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-cp-e2e-"));
  const eventsFile = join(dir, "events.db");
  const configFile = join(dir, "control-plane.json");
  writeFileSync(configFile, JSON.stringify({ listen: { host: "127.0.0.1", port: 0 }, eventStore: { kind: "sqlite", file: eventsFile }, ...config }, null, 2));

  const child = spawn(process.execPath, [controlPlaneMain, "--config", configFile], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const port = await new Promise<number>((resolve, reject) => {
    void exited.then((code) => reject(new Error(`control plane exited with ${String(code)} before listening:\n${lines.join("\n")}`)));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        if (line.includes('"msg":"listening"')) resolve((JSON.parse(line) as { port: number }).port);
      });
    }
  });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    eventsFile,
    lines,
    child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tollgate <args>` to completion. */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [cliMain, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}
