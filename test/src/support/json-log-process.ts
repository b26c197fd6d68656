import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

/** A service process run by `node`, with every line it prints kept, parsed as JSON (pino) where it is. */
export interface JsonLogProcess {
  child: ChildProcess;
  /** Every line of stdout and stderr; a line that is not JSON is kept as `{ msg: line }`. */
  lines: Record<string, unknown>[];
  /** The exit code, or the signal's name when a signal ended it. */
  exited: Promise<number | string>;
  /** Sends `signal` unless the process has exited already. */
  signal(signal: NodeJS.Signals): void;
}

/** Starts `node <main> ...args` with exactly `env` as its environment. */
export function spawnJsonLogProcess(main: string, args: readonly string[], env: NodeJS.ProcessEnv): JsonLogProcess {
  const child = spawn(process.execPath, [main, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: Record<string, unknown>[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    });
  }
  const exited = once(child, "exit").then(([code, signal]) => (code as number | null) ?? (signal as string));
  return {
    child,
    lines,
    exited,
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
