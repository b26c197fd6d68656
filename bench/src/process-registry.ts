import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";

interface Tracked {
  name: string;
  /** For a process that is not our child (an nginx worker): kill it only while its cmdline still contains this. */
  cmdlineIncludes?: string;
}

/**
 * Every process and temp folder the bench created, so that they are cleaned up however
 * the bench ends: normally, on an error, or on SIGINT/SIGTERM. Processes are killed by
 * pid, one by one, and only while they are ours.
 */
export class ProcessRegistry {
  private readonly processes = new Map<number, Tracked>();
  private readonly tempDirs = new Set<string>();
  private keepTemp = false;
  private handlersInstalled = false;
  private interruptedBy: NodeJS.Signals | null = null;

  /** The signal that interrupted the bench, if one did: errors after it are the shutdown, not findings. */
  get interrupted(): NodeJS.Signals | null {
    return this.interruptedBy;
  }

  track(pid: number, name: string, cmdlineIncludes?: string): void {
    this.processes.set(pid, cmdlineIncludes === undefined ? { name } : { name, cmdlineIncludes });
  }

  untrack(pid: number): void {
    this.processes.delete(pid);
  }

  trackTempDir(dir: string): void {
    this.tempDirs.add(dir);
  }

  /** Keep temp folders (logs, configs, the SQLite file) for inspection. */
  setKeepTemp(keep: boolean): void {
    this.keepTemp = keep;
  }

  get livePids(): number[] {
    return [...this.processes.keys()];
  }

  /** Signals one tracked process if it is still ours; untracks it when it is gone. */
  signal(pid: number, signal: NodeJS.Signals): void {
    const tracked = this.processes.get(pid);
    if (!tracked) return;
    if (tracked.cmdlineIncludes !== undefined && !cmdlineOf(pid).includes(tracked.cmdlineIncludes)) {
      this.processes.delete(pid);
      return;
    }
    try {
      process.kill(pid, signal);
    } catch {
      this.processes.delete(pid);
    }
  }

  /** Signals every tracked process that is still ours. Synchronous, so it also works in an exit handler. */
  signalAll(signal: NodeJS.Signals): void {
    for (const pid of [...this.processes.keys()]) this.signal(pid, signal);
  }

  removeTempDirs(): void {
    if (this.keepTemp) return;
    for (const dir of this.tempDirs) rmSync(dir, { recursive: true, force: true });
    this.tempDirs.clear();
  }

  /** On SIGINT/SIGTERM: SIGTERM to everything, SIGKILL after a second, temp folders removed. On exit: SIGKILL leftovers. */
  installExitHandlers(log: (line: string) => void): void {
    if (this.handlersInstalled) return;
    this.handlersInstalled = true;
    const onSignal = (signal: NodeJS.Signals): void => {
      this.interruptedBy = signal;
      log(`\n${signal}: stopping ${this.processes.size} process(es) started by the bench`);
      this.signalAll("SIGTERM");
      setTimeout(() => {
        this.signalAll("SIGKILL");
        this.removeTempDirs();
        process.exit(signal === "SIGINT" ? 130 : 143);
      }, 1_000);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    process.once("exit", () => {
      this.signalAll("SIGKILL");
      this.removeTempDirs();
    });
  }
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** The one registry of this bench process. */
export const processRegistry = new ProcessRegistry();

export interface TrackedChild {
  child: ChildProcess;
  pid: number;
  /** Resolves when the process has exited: its code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns a process and tracks its pid until it exits. Rejects when it cannot be started. */
export async function spawnTracked(name: string, command: string, args: readonly string[], options: SpawnOptions): Promise<TrackedChild> {
  const child = spawn(command, args, options);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      if (child.pid !== undefined) processRegistry.untrack(child.pid);
      resolve({ code, signal });
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (error) => reject(new Error(`cannot start ${name} (${command}): ${error.message}`)));
  });
  const pid = child.pid!;
  processRegistry.track(pid, name);
  return { child, pid, exited };
}

/** Sends `signal`, waits up to `timeoutMs` for the exit, then SIGKILLs. Resolves with how it ended. */
export async function stopTracked(
  tracked: TrackedChild,
  signal: NodeJS.Signals = "SIGTERM",
  timeoutMs = 10_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
  const { child } = tracked;
  if (child.exitCode !== null || child.signalCode !== null) return { ...(await tracked.exited), killed: false };
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const first = await Promise.race([tracked.exited, timedOut]);
  clearTimeout(timer);
  if (first !== "timeout") return { ...first, killed: false };
  child.kill("SIGKILL");
  return { ...(await tracked.exited), killed: true };
}
