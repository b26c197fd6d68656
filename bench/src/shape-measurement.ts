/** One arm, one load shape, one round. Latencies in microseconds. */
export interface ShapeMeasurement {
  shape: string;
  kind: "saturation" | "open-loop";
  /** Completed requests in the measured window. */
  requests: number;
  durationS: number;
  requestsPerSec: number;
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number };
  /** Socket errors (wrk) or requests without a response (open loop). */
  errors: number;
  /** Responses with a status outside 2xx/3xx. */
  non2xx3xx: number;
  /** CPU time of the arm's process tree per completed request (warmup of the open-loop generator included on both sides). */
  cpuUsPerRequest: number;
  /** Same for the upstream nginx (the arms that forward to it). */
  upstreamCpuUsPerRequest: number;
  /** Cores used on average by processes the bench did not start, during the measurement: the noise. */
  otherWorkCores: number;
  /** Saturation only: the req/s of each slice, in the order they ran (see runBench). */
  slicesRequestsPerSec?: number[];
  /** Open loop only: what the generator itself contributed. */
  openLoop?: {
    scheduled: number;
    achievedRate: number;
    sendLagUs: { p50: number; p99: number };
    serviceTimeUs: { p50: number; p99: number };
    maxOutstanding: number;
    /** Seconds into the measured part at which the slowest request was scheduled. */
    slowestAtS: number;
    generatorCpuPercent: number;
  };
}
