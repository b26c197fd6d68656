import { z } from "zod";

export const balancingAlgorithms = ["round-robin", "weighted-round-robin", "least-connections", "consistent-hash"] as const;
export type BalancingAlgorithm = (typeof balancingAlgorithms)[number];

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "expected an HTTP header name")
  .transform((value) => value.toLowerCase());

export const BalancingConfig = z
  .strictObject({
    algorithm: z
      .enum(balancingAlgorithms)
      .default("round-robin")
      .describe(
        "round-robin: in turn; weighted-round-robin: in proportion to the targets' weights (smooth, as nginx does); least-connections: the target with the fewest requests in flight per unit of weight; consistent-hash: the same key always reaches the same target, and adding or removing a target moves only its share of keys",
      ),
    hashOn: z
      .enum(["consumer", "client-ip", "header"])
      .default("consumer")
      .describe("consistent-hash only: the key; consumer falls back to the client IP on anonymous requests"),
    hashHeader: headerName.optional().describe("consistent-hash with hashOn header: the header whose value is the key (absent: the client IP)"),
  })
  .refine((config) => config.hashOn !== "header" || config.hashHeader !== undefined, {
    message: "hashOn header needs hashHeader",
    path: ["hashHeader"],
  });

export const ActiveHealthCheckConfig = z.strictObject({
  path: z.string().startsWith("/").max(1_000).default("/").describe("Path probed with GET on every target"),
  intervalMs: z.number().int().min(100).max(300_000).default(5_000).describe("Time between two probes of a target"),
  timeoutMs: z.number().int().min(10).max(60_000).default(1_000).describe("A probe slower than this fails"),
  expectedStatuses: z
    .array(z.number().int().min(100).max(599))
    .min(1)
    .default([200, 204])
    .describe("Statuses a healthy target answers the probe with"),
  healthyThreshold: z.number().int().min(1).max(100).default(2).describe("Consecutive successful probes that mark an unhealthy target healthy"),
  unhealthyThreshold: z.number().int().min(1).max(100).default(2).describe("Consecutive failed probes that mark a target unhealthy"),
});

export const PassiveHealthConfig = z.strictObject({
  consecutiveFailures: z
    .number()
    .int()
    .min(0)
    .max(1_000)
    .default(5)
    .describe("Failures in a row (connection errors, timeouts, 502/503/504 answers) that eject a target; 0 disables ejection"),
  ejectionMs: z.number().int().min(100).max(3_600_000).default(10_000).describe("How long an ejected target gets no requests before it is tried again"),
});

export const HealthChecksConfig = z.strictObject({
  active: ActiveHealthCheckConfig.optional().describe("Probes each target on a timer; absent: no probes"),
  passive: PassiveHealthConfig.prefault({}).describe("Outlier detection from real traffic: eject a failing target, re-admit it after a cool-down"),
});

export type BalancingConfig = z.output<typeof BalancingConfig>;
export type ActiveHealthCheckConfig = z.output<typeof ActiveHealthCheckConfig>;
export type PassiveHealthConfig = z.output<typeof PassiveHealthConfig>;
export type HealthChecksConfig = z.output<typeof HealthChecksConfig>;
