import { failureKinds } from "@tollgate/events";
import { z } from "zod";

export const RouteRetryConfig = z.strictObject({
  attempts: z
    .number()
    .int()
    .min(0)
    .max(5)
    .default(0)
    .describe(
      "Retries after a failed attempt (connection error, timeout before the response head), each on another healthy target when there is one. 0: none. Only idempotent methods are retried, or any method whose request never reached the upstream (connection refused); never a request whose streamed body was already sent",
    ),
  backoffBaseMs: z.number().int().min(0).max(10_000).default(25).describe("Backoff before retry n: a random wait up to backoffBaseMs × 2^(n-1) (full jitter)"),
  backoffMaxMs: z.number().int().min(0).max(60_000).default(250).describe("Longest backoff"),
  budgetRatio: z
    .number()
    .min(0)
    .max(10)
    .default(0.2)
    .describe("Retries allowed per request over the last 10 s (0.2: at most 20% extra load on a failing upstream)"),
  budgetMinPerSecond: z.number().min(0).max(1_000).default(3).describe("Retries per second allowed whatever the traffic, so a quiet route can still retry"),
});

export const RouteTimeoutsConfig = z.strictObject({
  responseHeadersMs: z
    .number()
    .int()
    .min(1)
    .max(600_000)
    .optional()
    .describe("Time from sending the request to the response head (time to first byte); then 504. Default: the upstream's headersTimeoutMs"),
  totalMs: z
    .number()
    .int()
    .min(1)
    .max(3_600_000)
    .optional()
    .describe("Longest a request may take upstream, retries and backoff included; then 504 (or the connection is cut if the response had begun). Default: none"),
});

export type RouteRetryConfig = z.output<typeof RouteRetryConfig>;
export type RouteTimeoutsConfig = z.output<typeof RouteTimeoutsConfig>;

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "expected an HTTP header name");

export const RouteFallbackConfig = z.strictObject({
  on: z
    .array(z.enum(failureKinds.filter((kind) => kind !== "client-abort") as ["upstream-error", "timeout", "circuit-open"]))
    .min(1)
    .default(["upstream-error", "timeout", "circuit-open"])
    .describe("Failures answered with the fallback instead of a problem: upstream-error (unreachable, bad response, no healthy target), timeout, circuit-open"),
  status: z.number().int().min(200).max(599).default(200).describe("Status of the fallback response"),
  headers: z.record(headerName, z.string().max(8_192)).default({}).describe("Headers of the fallback response (Content-Length is computed)"),
  body: z.string().max(1_048_576).default("").describe("Body of the fallback response"),
});

export type RouteFallbackConfig = z.output<typeof RouteFallbackConfig>;
