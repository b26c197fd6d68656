import type { LatencySummary } from "./percentile.js";

/** What the open-loop generator is told to do (passed as JSON on its command line). */
export interface OpenLoopConfig {
  url: string;
  /** Requests per second. */
  rate: number;
  /** Seconds of measured load. */
  durationS: number;
  /** Seconds of load at the same rate before the measured part (connections opened, JIT warm). */
  warmupS: number;
  /** Largest number of connections (each carries one request at a time). */
  connections: number;
  /** Extra request headers, "Name: value". */
  headers: readonly string[];
  /** How long to wait for outstanding responses after the last request was sent. */
  drainTimeoutS: number;
}

/** What it reports: one JSON line on stdout. Latencies in microseconds. */
export interface OpenLoopResult {
  config: OpenLoopConfig;
  /** Requests in the measured part. */
  scheduled: number;
  completed: number;
  failed: number;
  /** Responses of the measured part by status code. */
  statusCounts: Record<string, number>;
  /** From the scheduled send time to the last byte of the response; unfinished requests count as Infinity. */
  latencyUs: LatencySummary;
  /** From the actual send time to the last byte (what a closed-loop tool would report). */
  serviceTimeUs: LatencySummary;
  /** How late the generator sent each request: its own contribution to latencyUs. */
  sendLagUs: LatencySummary;
  /** Completed requests of the measured part per second of it. */
  achievedRate: number;
  /** Warmup included: every request sent, completed (any status) and failed. For the event-log check. */
  totals: { sent: number; completed: number; failed: number };
  maxOutstanding: number;
  /** Seconds into the measured part at which the slowest request was scheduled: where to look for a stall. */
  slowestAtS: number;
  /** The generator's own CPU use over the run, in percent of one core. */
  generatorCpuPercent: number;
  errors: Record<string, number>;
}
