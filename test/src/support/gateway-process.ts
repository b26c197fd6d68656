import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
/** The built gateway entry point; `npm test` builds it first (turbo: test depends on ^build). */
export const gatewayMain = require.resolve("@tollgate/gateway/main");

export interface GatewayProcess {
  url: string;
  port: number;
  statusUrl: string;
  pid: number;
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

export interface GatewayProcessOptions {
  /** Merged over a config whose ports are 0 and whose store lives in a temp folder. */
  config: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

/** Starts the real gateway process on free ports, with its store and spool in a fresh temp folder. */
export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-gw-"));
  const eventsFile = join(dir, "events.db");
  const config = {
    gatewayId: "gw-test",
    listen: { host: "127.0.0.1", port: 0 },
    status: { host: "127.0.0.1", port: 0 },
    accessLog: "errors",
    eventStore: { kind: "sqlite", file: eventsFile },
    ...options.config,
    recorder: { spoolDir: join(dir, "spool"), ...(options.config.recorder as object | undefined) },
  };
  const configFile = join(dir, "gateway.json");
  writeFileSync(configFile, JSON.stringify(config, null, 2));

  const child = spawn(process.execPath, [gatewayMain, "--config", configFile], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const listening = new Promise<{ port: number; statusPort: number }>((resolve, reject) => {
    void exited.then((code) => reject(new Error(`gateway exited with ${String(code)} before listening:\n${lines.join("\n")}`)));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        if (!line.includes('"listening"')) return;
        const parsed = JSON.parse(line) as { port: number; statusPort: number };
        resolve({ port: parsed.port, statusPort: parsed.statusPort });
      });
    }
  });
  const { port, statusPort } = await listening;

  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return exited;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    statusUrl: `http://127.0.0.1:${statusPort}`,
    pid: child.pid!,
    dir,
    eventsFile,
    lines,
    child,
    exited,
    stop,
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
