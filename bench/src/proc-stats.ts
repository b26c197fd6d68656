import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time and peak memory of a process tree, from Linux /proc.
 *
 * /proc/<pid>/stat utime+stime are the totals of the whole process: every thread, live
 * or exited (worker_threads, libuv's pool), in clock ticks. A "tree" is the process and
 * its descendants, so nginx's master and worker are counted together.
 */

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** cutime + cstime: CPU of children it has waited for (reaped), in clock ticks. */
  reapedChildrenCpuTicks: number;
}

/** Parses the text of /proc/<pid>/stat. The command name may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  // Fields after the command start with field 3 (state) at index 0.
  const rest = text.slice(close + 1).trim().split(/\s+/);
  if (rest.length < 15) throw new Error(`/proc/<pid>/stat has too few fields: ${rest.length + 2}`);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const ppid = Number(rest[1]);
  const cutime = Number(rest[13]);
  const cstime = Number(rest[14]);
  if (![pid, ppid, utime, stime, cutime, cstime].every(Number.isFinite)) throw new Error(`/proc/<pid>/stat has non-numeric fields: ${JSON.stringify(text)}`);
  return { pid, comm, state: rest[0]!, ppid, cpuTicks: utime + stime, reapedChildrenCpuTicks: cutime + cstime };
}

export interface ProcMemory {
  /** Peak resident set size (VmHWM), kB. */
  hwmKb: number;
  /** Current resident set size (VmRSS), kB. */
  rssKb: number;
}

/** Parses VmHWM and VmRSS out of /proc/<pid>/status (0 for a zombie, which has neither). */
export function parseProcStatus(text: string): ProcMemory {
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s*(\\d+)\\s*kB`, "m").exec(text);
    return match ? Number(match[1]) : 0;
  };
  return { hwmKb: field("VmHWM"), rssKb: field("VmRSS") };
}

/** Parses /proc/<pid>/task/<tid>/children: space-separated pids. */
export function parseChildren(text: string): number[] {
  return text
    .trim()
    .split(/\s+/)
    .filter((token) => token.length > 0)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** The pid and all its living descendants (parents first); empty when pid is gone. */
export function processTree(pid: number, procRoot = "/proc"): number[] {
  const result: number[] = [];
  const pending = [pid];
  const seen = new Set<number>();
  while (pending.length > 0) {
    const current = pending.shift()!;
    if (seen.has(current)) continue;
    seen.add(current);
    let tasks: string[];
    try {
      tasks = readdirSync(`${procRoot}/${current}/task`);
    } catch {
      continue;
    }
    result.push(current);
    for (const tid of tasks) {
      const children = readOrNull(`${procRoot}/${current}/task/${tid}/children`);
      if (children !== null) pending.push(...parseChildren(children));
    }
  }
  return result;
}

export interface ProcTreeSample {
  pids: number[];
  cpuTicks: number;
  /** Sum over the tree of each process's peak RSS. */
  hwmKb: number;
  rssKb: number;
}

/** CPU ticks and memory of a process tree, summed. */
export function sampleProcessTree(pid: number, procRoot = "/proc"): ProcTreeSample {
  const sample: ProcTreeSample = { pids: [], cpuTicks: 0, hwmKb: 0, rssKb: 0 };
  for (const member of processTree(pid, procRoot)) {
    const stat = readOrNull(`${procRoot}/${member}/stat`);
    const status = readOrNull(`${procRoot}/${member}/status`);
    if (stat === null || status === null) continue;
    const memory = parseProcStatus(status);
    sample.pids.push(member);
    sample.cpuTicks += parseProcStat(stat).cpuTicks;
    sample.hwmKb += memory.hwmKb;
    sample.rssKb += memory.rssKb;
  }
  return sample;
}

/** Busy clock ticks of the whole machine, all CPUs, from the first line of /proc/stat. */
export function parseMachineBusyTicks(procStat: string): number {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) throw new Error("/proc/stat has no cpu line");
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already inside user.
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = [user, nice, system, irq, softirq, steal].map((v) => v ?? 0);
  if (!busy.every(Number.isFinite)) throw new Error(`bad /proc/stat cpu line: ${line}`);
  return busy.reduce((sum, v) => sum + v, 0);
}

export interface MachineSample {
  atMs: number;
  /** Busy ticks of all CPUs. */
  busyTicks: number;
  /** This process's own CPU plus that of the children it has reaped (wrk and the generator, once they exited). */
  selfTicks: number;
}

export function sampleMachine(procRoot = "/proc"): MachineSample {
  const self = parseProcStat(readFileSync(`${procRoot}/self/stat`, "utf8"));
  return {
    atMs: performance.now(),
    busyTicks: parseMachineBusyTicks(readFileSync(`${procRoot}/stat`, "utf8")),
    selfTicks: self.cpuTicks + self.reapedChildrenCpuTicks,
  };
}

/**
 * Cores used on average by work that is not the bench's between two samples: the
 * machine's busy time minus the bench's own (this process and reaped children) and
 * minus the given process trees (the arm, the upstream). Near 0 on a quiet machine.
 */
export function otherWorkCores(before: MachineSample, after: MachineSample, benchTreeTicks: number, hz = clockTicksPerSecond()): number {
  const seconds = (after.atMs - before.atMs) / 1_000;
  if (seconds <= 0) return Number.NaN;
  const other = after.busyTicks - before.busyTicks - (after.selfTicks - before.selfTicks) - benchTreeTicks;
  return Math.max(0, other / hz / seconds);
}

let ticksPerSecond: number | undefined;

/** The kernel's USER_HZ (`getconf CLK_TCK`), almost always 100; 100 when getconf is missing. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      const value = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
      ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU microseconds per request between two samples; NaN when no request completed. */
export function cpuMicrosPerRequest(before: ProcTreeSample, after: ProcTreeSample, requests: number, hz = clockTicksPerSecond()): number {
  if (requests <= 0) return Number.NaN;
  return ((after.cpuTicks - before.cpuTicks) * 1e6) / hz / requests;
}
