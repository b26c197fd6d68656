import { EntityId, rateLimitAlgorithms } from "@tollgate/events";
import { z } from "zod";
import { RedisConnectionConfig } from "./redis-connection-config.js";
import { rateLimitScopes } from "./rate-limit-rule.js";

export const storeFailureModes = ["open", "closed"] as const;
export type StoreFailureMode = (typeof storeFailureModes)[number];

export const StoreFailureMode = z
  .enum(storeFailureModes)
  .describe(
    "While Redis is unreachable: open decides in memory with the insurance limiter (each gateway counts on its own, so the shared limit can be exceeded, by a bounded and counted amount); closed rejects with 503",
  );

export const RateLimitStoreConfig = z
  .discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("memory").describe("Counters in this gateway's memory: exact for a single gateway") }),
    z.strictObject({ kind: z.literal("redis").describe("Counters in Redis, shared and exact across every gateway"), ...RedisConnectionConfig.shape }),
  ])
  .describe("Where rate limit counters live");

/** The policy's gateway-wide settings. */
export const RateLimitPolicyConfig = z.strictObject({
  store: RateLimitStoreConfig.default({ kind: "memory" }),
  keyPrefix: z
    .string()
    .max(100)
    .default("tollgate:rl:")
    .describe("Prefix of every counter key, so several installations can share one Redis"),
  onStoreFailure: StoreFailureMode.default("open").describe("Default for routes that do not choose (see route onStoreFailure)"),
  insurance: z
    .strictObject({
      pointsDivisor: z
        .number()
        .int()
        .min(1)
        .max(1_000)
        .default(1)
        .describe(
          "While Redis is down each gateway allows floor(points / pointsDivisor) per window on its own; set it to the number of gateways to keep their sum within the limit",
        ),
    })
    .prefault({})
    .describe("The in-memory limiter that decides while Redis is unreachable"),
});

export const RouteRateLimit = z.strictObject({
  name: EntityId.describe("Named in 429 responses, in RequestRejected.limit and in metrics"),
  points: z.number().int().min(1).max(1_000_000_000).describe("Requests allowed per window"),
  windowSeconds: z.number().int().min(1).max(31 * 86_400).describe("Window length in seconds"),
  algorithm: z.enum(rateLimitAlgorithms).default("fixed-window").describe("fixed-window, sliding-window or token-bucket (GCRA)"),
  scope: z.enum(rateLimitScopes).default("route").describe("Whose requests share the allowance: plan, consumer, route, consumer-route or ip"),
});

/** What a route says about rate limits, on top of the limits of the caller's plan. */
export const RouteRateLimitConfig = z.strictObject({
  limits: z
    .array(RouteRateLimit)
    .max(10)
    .default([])
    .refine((limits) => new Set(limits.map((limit) => limit.name)).size === limits.length, "limit names must be unique within a route")
    .describe("Limits of this route; for an anonymous route, use scope ip"),
  planLimitScope: z
    .enum(rateLimitScopes)
    .default("consumer")
    .describe("How the caller's plan limits are counted on this route (consumer: each consumer has the plan's allowance)"),
  onStoreFailure: StoreFailureMode.optional().describe("This route's choice while Redis is unreachable; the policy's onStoreFailure when absent"),
});

export type RateLimitStoreConfig = z.infer<typeof RateLimitStoreConfig>;
export type RateLimitPolicyConfig = z.infer<typeof RateLimitPolicyConfig>;
export type RouteRateLimit = z.infer<typeof RouteRateLimit>;
export type RouteRateLimitConfig = z.infer<typeof RouteRateLimitConfig>;
