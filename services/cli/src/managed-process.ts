import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface ManagedProcessOptions {
  name: string;
  script: string;
  args: readonly string[];
  /** Flags for node itself, before the script (the gateway's heap limit). */
  nodeArgs?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Resolves `ready` with the first parsed JSON log line this returns true for. */
  isReady: (line: Record<string, unknown>) => boolean;
  /** Where the child's output lines go; prefixed with the process name. */
  write?: (line: string) => void;
}

/** A platform service run as a child process, with its output prefixed and its readiness detected. */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<Record<string, unknown>>;
  readonly exited: Promise<number | null>;

  constructor(private readonly options: ManagedProcessOptions) {
    const write = options.write ?? ((line: string) => process.stdout.write(line + "\n"));
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script, ...options.args], {
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: Ctrl-C in a terminal signals only the supervisor, which
      // then stops each service with exactly one SIGTERM. (A service that received the
      // terminal's SIGINT and then the supervisor's SIGTERM would take the second signal
      // as "stop now" and skip its graceful drain.)
      detached: true,
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
    this.ready = new Promise((resolve, reject) => {
      void this.exited.then((code) => reject(new Error(`${options.name} exited with code ${String(code)} before it was ready`)));
      for (const stream of [this.child.stdout!, this.child.stderr!]) {
        createInterface({ input: stream }).on("line", (line) => {
          write(`[${options.name}] ${line}`);
          const parsed = parseJsonLine(line);
          if (parsed && options.isReady(parsed)) resolve(parsed);
        });
      }
    });
  }

  get name(): string {
    return this.options.name;
  }

  /** Sends SIGTERM (a graceful stop) and waits for the exit. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    return this.exited;
  }
}

function parseJsonLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith("{")) return null;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
