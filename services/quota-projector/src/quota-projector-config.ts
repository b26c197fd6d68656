import { BillingRules, BillingRulesOverride, EntityId } from "@tollgate/events";
import { projectorServiceFields, SubscriptionRunnerSettings } from "@tollgate/eventstore";
import { logLevels, type LogLevel } from "@tollgate/observability";
import { z } from "zod";

export const QuotaProjectorConfig = z.strictObject({
  ...projectorServiceFields("quota-projector"),
  store: z
    .strictObject({
      file: z.string().min(1).default("./data/quota-projector.db").describe("The projector's own SQLite file: usage counts and its checkpoint"),
      synchronous: z.enum(["normal", "full"]).default("normal").describe("normal survives a process crash; full also an OS crash, at a cost"),
    })
    .prefault({})
    .describe("Where the projection lives"),
  redis: z
    .strictObject({
      url: z.string().regex(/^rediss?:\/\/\S+$/).describe("The Redis the gateways count quotas in (REDIS_URL). May hold a password: never logged"),
      keyPrefix: z.string().max(100).default("tollgate:quota:").describe("The gateways' quota keyPrefix"),
      retentionDays: z.number().int().min(1).max(400).default(7).describe("The gateways' quota retentionDays: counters of older periods are left alone"),
      sweepIntervalMs: z
        .number()
        .int()
        .min(100)
        .max(3_600_000)
        .default(5_000)
        .describe("Every this often every live counter is reconciled, touched or not: the bound on restoring a counter Redis lost"),
    })
    .nullable()
    .default(null)
    .describe("The gateways' shared quota counters to reconcile; null when they count in memory (embedded), and there is nothing to reconcile"),
  billing: z
    .strictObject({
      defaults: BillingRules.prefault({}).describe("What every plan bills unless it says otherwise"),
      plans: z.record(EntityId, BillingRulesOverride).default({}).describe("Per-plan overrides of the defaults (a plan's own `billing` rules win over these)"),
    })
    .prefault({})
    .describe("Which requests count (see billing-rules.ts for each rule and its default)"),
  runner: SubscriptionRunnerSettings.prefault({}),
  status: z
    .strictObject({
      host: z.string().default("127.0.0.1"),
      port: z.number().int().min(0).max(65_535).default(8083).describe("/healthz, /readyz, /metrics (0: any free port)"),
    })
    .prefault({}),
  logLevel: z.enum(logLevels as [LogLevel, ...LogLevel[]]).default("info"),
  testing: z
    .strictObject({
      holdBatchOpenMs: z.number().int().min(0).max(60_000).default(0).describe("Crash tests only: keep each batch's transaction open this long before COMMIT"),
    })
    .prefault({}),
});

export type QuotaProjectorConfig = z.infer<typeof QuotaProjectorConfig>;
