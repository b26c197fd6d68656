import { z } from "zod";
import { StoreFailureMode } from "../rate-limit/rate-limit-policy-config.js";
import { RedisConnectionConfig } from "../rate-limit/redis-connection-config.js";

export const QuotaStoreConfig = z
  .discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("memory").describe("Counters in this gateway's memory: the single embedded gateway; nothing reconciles them") }),
    z.strictObject({
      kind: z.literal("redis").describe("Counters in Redis, shared and exact across gateways, reconciled by the quota projector"),
      ...RedisConnectionConfig.shape,
    }),
  ])
  .describe("Where quota counters live");

/** The quota policy's gateway-wide settings; the quotas themselves come from plans. */
export const QuotaPolicyConfig = z.strictObject({
  store: QuotaStoreConfig.default({ kind: "memory" }),
  keyPrefix: z
    .string()
    .max(100)
    .default("tollgate:quota:")
    .describe("Prefix of every counter key; the quota projector's redis.keyPrefix must be the same"),
  retentionDays: z
    .number()
    .int()
    .min(1)
    .max(400)
    .default(7)
    .describe("How long a counter is kept after its period ends (late reconciliation, usage views)"),
  onStoreFailure: StoreFailureMode.default("open").describe("Default for routes that do not choose"),
  insurance: z
    .strictObject({
      divisor: z
        .number()
        .int()
        .min(1)
        .max(1_000)
        .default(1)
        .describe(
          "While Redis is down each gateway admits at most 1/divisor of what it last saw remaining of a quota; set it to the number of gateways to keep their sum within the quota",
        ),
    })
    .prefault({})
    .describe("The in-memory counters that decide while Redis is unreachable"),
});

export type QuotaStoreConfig = z.infer<typeof QuotaStoreConfig>;
export type QuotaPolicyConfig = z.infer<typeof QuotaPolicyConfig>;

/** What a route says about quotas; the quotas themselves come from the caller's plan. */
export const RouteQuotaConfig = z.strictObject({
  enabled: z.boolean().default(true).describe("Count requests on this route against the caller's plan quota; false leaves the route unmetered"),
  onStoreFailure: StoreFailureMode.optional().describe("This route's choice while Redis is unreachable; the policy's onStoreFailure when absent"),
});

export type RouteQuotaConfig = z.infer<typeof RouteQuotaConfig>;
