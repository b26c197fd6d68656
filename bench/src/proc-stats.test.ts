import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cpuMicrosPerRequest, otherWorkCores, parseMachineBusyTicks, parseChildren, parseProcStat, parseProcStatus, processTree, sampleProcessTree, type ProcTreeSample } from "./proc-stats.js";

// A real /proc/<pid>/stat line of a node process (52 fields), utime 1234, stime 56.
const nodeStat =
  "4242 (node) S 4200 4242 4200 34816 4242 4194304 12000 0 0 0 1234 56 0 0 20 0 11 0 987654 1200000000 15000 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0";

const status = `Name:\tnode
Umask:\t0022
State:\tS (sleeping)
Tgid:\t4242
VmPeak:\t 1234567 kB
VmSize:\t 1200000 kB
VmHWM:\t   81234 kB
VmRSS:\t   70000 kB
Threads:\t11
`;

describe("parseProcStat", () => {
  it("reads pid, comm, state, ppid and utime+stime", () => {
    expect(parseProcStat(nodeStat)).toEqual({ pid: 4242, comm: "node", state: "S", ppid: 4200, cpuTicks: 1290, reapedChildrenCpuTicks: 0 });
    const withChildren = nodeStat.replace(" 1234 56 0 0 ", " 1234 56 300 45 ");
    expect(parseProcStat(withChildren).reapedChildrenCpuTicks).toBe(345);
  });

  it("survives a command name with spaces and parentheses", () => {
    const tricky = nodeStat.replace("(node)", "(nginx: (worker) x)");
    expect(parseProcStat(tricky)).toMatchObject({ comm: "nginx: (worker) x", ppid: 4200, cpuTicks: 1290 });
  });

  it("rejects truncated input", () => {
    expect(() => parseProcStat("4242 (node) S 1 2")).toThrow(/too few fields/);
    expect(() => parseProcStat("garbage")).toThrow();
  });
});

describe("parseProcStatus", () => {
  it("reads VmHWM and VmRSS in kB", () => {
    expect(parseProcStatus(status)).toEqual({ hwmKb: 81234, rssKb: 70000 });
  });

  it("reads 0 for a zombie without memory lines", () => {
    expect(parseProcStatus("Name:\tnode\nState:\tZ (zombie)\n")).toEqual({ hwmKb: 0, rssKb: 0 });
  });
});

describe("parseChildren", () => {
  it("splits the space-separated list", () => {
    expect(parseChildren("101 102 \n")).toEqual([101, 102]);
    expect(parseChildren("")).toEqual([]);
  });
});

describe("process trees in a fake /proc", () => {
  let root = "";
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function fakeProcess(pid: number, ppid: number, ticks: [number, number], hwmKb: number, threads: Record<number, number[]>): void {
    mkdirSync(join(root, String(pid)), { recursive: true });
    writeFileSync(join(root, String(pid), "stat"), nodeStat.replace("4242 (node) S 4200", `${pid} (p${pid}) S ${ppid}`).replace(" 1234 56 ", ` ${ticks[0]} ${ticks[1]} `));
    writeFileSync(join(root, String(pid), "status"), `VmHWM:\t${hwmKb} kB\nVmRSS:\t${hwmKb - 1} kB\n`);
    for (const [tid, children] of Object.entries(threads)) {
      mkdirSync(join(root, String(pid), "task", tid), { recursive: true });
      writeFileSync(join(root, String(pid), "task", tid, "children"), children.join(" "));
    }
  }

  it("sums a master and the workers that any of its threads forked", () => {
    root = mkdtempSync(join(tmpdir(), "fake-proc-"));
    fakeProcess(10, 1, [5, 5], 2000, { 10: [11], 12: [13] });
    fakeProcess(11, 10, [100, 20], 3000, { 11: [] });
    fakeProcess(13, 10, [1, 0], 1000, { 13: [] });
    expect(processTree(10, root)).toEqual([10, 11, 13]);
    const sample = sampleProcessTree(10, root);
    expect(sample).toEqual({ pids: [10, 11, 13], cpuTicks: 131, hwmKb: 6000, rssKb: 5997 });
  });

  it("skips children that have already exited, and an exited root reads as empty", () => {
    root = mkdtempSync(join(tmpdir(), "fake-proc-"));
    fakeProcess(20, 1, [1, 1], 100, { 20: [21] });
    expect(processTree(20, root)).toEqual([20]);
    expect(sampleProcessTree(99, root)).toEqual({ pids: [], cpuTicks: 0, hwmKb: 0, rssKb: 0 });
  });

  it("reads the test runner's own process", () => {
    const sample = sampleProcessTree(process.pid);
    expect(sample.pids[0]).toBe(process.pid);
    expect(sample.hwmKb).toBeGreaterThan(1000);
  });
});

describe("machine CPU", () => {
  const procStat = `cpu  1000 50 300 90000 20 5 15 30 400 0
cpu0 500 25 150 45000 10 3 7 15 200 0
cpu1 500 25 150 45000 10 2 8 15 200 0
intr 123
`;

  it("sums busy ticks (user nice system irq softirq steal), not idle or iowait, and not guest twice", () => {
    expect(parseMachineBusyTicks(procStat)).toBe(1000 + 50 + 300 + 5 + 15 + 30);
    expect(() => parseMachineBusyTicks("intr 1\n")).toThrow(/no cpu line/);
  });

  it("attributes to other work what neither the bench nor its process trees used", () => {
    const before = { atMs: 0, busyTicks: 1_000, selfTicks: 100 };
    // 2 s later: 300 busy ticks in all; the bench process and its reaped children used 60, the arm and upstream 140.
    const after = { atMs: 2_000, busyTicks: 1_300, selfTicks: 160 };
    expect(otherWorkCores(before, after, 140, 100)).toBeCloseTo(0.5, 9);
    // Never negative (tick rounding can make the bench's share exceed the machine's by a tick).
    expect(otherWorkCores(before, after, 500, 100)).toBe(0);
  });
});

describe("cpuMicrosPerRequest", () => {
  const at = (cpuTicks: number): ProcTreeSample => ({ pids: [1], cpuTicks, hwmKb: 0, rssKb: 0 });

  it("converts the tick delta at the given HZ into microseconds per request", () => {
    // 150 ticks at 100 Hz = 1.5 s of CPU over 30,000 requests = 50 us each.
    expect(cpuMicrosPerRequest(at(50), at(200), 30_000, 100)).toBe(50);
    expect(cpuMicrosPerRequest(at(0), at(250), 10_000, 250)).toBe(100);
  });

  it("is NaN without completed requests", () => {
    expect(cpuMicrosPerRequest(at(0), at(10), 0, 100)).toBeNaN();
  });
});
