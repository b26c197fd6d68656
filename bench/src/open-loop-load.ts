import { Worker } from "node:worker_threads";
import { Pool } from "undici";
import type { OpenLoopClockData } from "./open-loop-clock.js";
import type { OpenLoopConfig, OpenLoopResult } from "./open-loop-result.js";
import { OpenLoopSchedule } from "./open-loop-schedule.js";
import { summarizeLatencies } from "./percentile.js";
import { parseNonFinite, stringifyNonFinite } from "./non-finite-json.js";

/**
 * The open-loop load generator, run as its own process by the bench:
 *   node open-loop-load.js '<OpenLoopConfig as JSON>'
 * Request i is sent at start + i/rate whatever happened to earlier ones (a worker-thread
 * clock wakes this thread on time), over an undici Pool of at most `connections`
 * keep-alive connections; a request with no free connection waits in the pool, and
 * that wait counts in its latency. It prints one OpenLoopResult JSON line and exits.
 */

function headerRecord(headers: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const header of headers) {
    const colon = header.indexOf(":");
    if (colon <= 0) throw new Error(`bad header ${JSON.stringify(header)}: expected "Name: value"`);
    record[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
  }
  return record;
}

async function run(config: OpenLoopConfig): Promise<OpenLoopResult> {
  const target = new URL(config.url);
  const path = `${target.pathname}${target.search}`;
  const headers = headerRecord(config.headers);
  const pool = new Pool(target.origin, { connections: config.connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });

  const schedule = new OpenLoopSchedule(config.rate, config.warmupS + config.durationS);
  const warmupCount = config.warmupS > 0 ? Math.min(schedule.total - 1, Math.round(config.rate * config.warmupS)) : 0;
  const total = schedule.total;
  const latency = new Float64Array(total).fill(Number.POSITIVE_INFINITY);
  const service = new Float64Array(total).fill(Number.NaN);
  const lag = new Float64Array(total).fill(Number.NaN);
  const ok = new Uint8Array(total);
  const statusCounts: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let sent = 0;
  let completed = 0;
  let failed = 0;
  let outstanding = 0;
  let maxOutstanding = 0;
  let clockDone = false;
  let onIdle: (() => void) | undefined;

  // Start a little in the future so that the clock thread is running at offset 0.
  const startNs = process.hrtime.bigint() + 100_000_000n;
  const elapsedUs = (): number => Number(process.hrtime.bigint() - startNs) / 1_000;
  const cpuBefore = process.cpuUsage();

  const fire = (i: number): void => {
    const sentAt = elapsedUs();
    lag[i] = sentAt - schedule.offsetUs(i);
    outstanding++;
    if (outstanding > maxOutstanding) maxOutstanding = outstanding;
    let status = 0;
    let settled = false;
    const settle = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      if (error === null) {
        const end = elapsedUs();
        latency[i] = end - schedule.offsetUs(i);
        service[i] = end - sentAt;
        ok[i] = 1;
        completed++;
        if (i >= warmupCount) statusCounts[status] = (statusCounts[status] ?? 0) + 1;
      } else {
        failed++;
        const key = `${error.name}: ${error.message}`;
        errors[key] = (errors[key] ?? 0) + 1;
      }
      outstanding--;
      if (outstanding === 0 && clockDone && sent === total) onIdle?.();
    };
    pool.dispatch(
      { origin: target.origin, path, method: "GET", headers },
      {
        // The new-style handler: undici recognises it by onRequestStart.
        onRequestStart: () => {},
        onResponseStart: (_controller, statusCode) => {
          status = statusCode;
        },
        onResponseData: () => {},
        onResponseEnd: () => settle(null),
        onResponseError: (_controller, error) => settle(error),
      },
    );
  };

  const pump = (): void => {
    const due = schedule.dueCount(elapsedUs());
    while (sent < due) fire(sent++);
  };

  const stopFlag = new SharedArrayBuffer(4);
  const clockData: OpenLoopClockData = { startNs: startNs.toString(), rate: config.rate, durationS: config.warmupS + config.durationS, stop: stopFlag };
  const clock = new Worker(new URL("./open-loop-clock.js", import.meta.url), { workerData: clockData });
  await new Promise<void>((resolve, reject) => {
    clock.on("message", (message: unknown) => {
      pump();
      if (message === "done") {
        clockDone = true;
        resolve();
      }
    });
    clock.once("error", reject);
  });
  await clock.terminate();
  pump();
  const sentAllAt = elapsedUs();

  if (outstanding > 0) {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      onIdle = resolve;
      timer = setTimeout(resolve, config.drainTimeoutS * 1_000);
    });
    clearTimeout(timer);
  }
  const cpu = process.cpuUsage(cpuBefore);
  const wallUs = elapsedUs();
  const unfinished = outstanding;
  if (unfinished > 0) {
    errors[`no response within ${config.drainTimeoutS} s after the last request was sent`] = unfinished;
    await pool.destroy();
  } else {
    await pool.close();
  }

  const measured = (values: Float64Array, onlyOk: boolean): number[] => {
    const out: number[] = [];
    for (let i = warmupCount; i < total; i++) if (!onlyOk || ok[i] === 1) out.push(values[i]!);
    return out;
  };
  let slowest = warmupCount;
  for (let i = warmupCount; i < total; i++) if (latency[i]! > latency[slowest]!) slowest = i;
  let measuredCompleted = 0;
  for (let i = warmupCount; i < total; i++) measuredCompleted += ok[i]!;
  const scheduled = total - warmupCount;
  return {
    config,
    scheduled,
    completed: measuredCompleted,
    failed: scheduled - measuredCompleted,
    statusCounts,
    latencyUs: summarizeLatencies(measured(latency, false)),
    serviceTimeUs: summarizeLatencies(measured(service, true)),
    sendLagUs: summarizeLatencies(measured(lag, false)),
    achievedRate: measuredCompleted / (Math.max(sentAllAt, 1) / 1e6 - config.warmupS),
    totals: { sent, completed, failed: failed + unfinished },
    maxOutstanding,
    slowestAtS: (schedule.offsetUs(slowest) - schedule.offsetUs(warmupCount)) / 1e6,
    generatorCpuPercent: ((cpu.user + cpu.system) / Math.max(wallUs, 1)) * 100,
    errors,
  };
}

const argument = process.argv[2];
if (argument === undefined) {
  process.stderr.write("usage: node open-loop-load.js '<OpenLoopConfig JSON>'\n");
  process.exit(2);
}
const result = await run(parseNonFinite(argument) as OpenLoopConfig);
process.stdout.write(`${stringifyNonFinite(result)}\n`);
