import { BillingRules, EntityId } from "@tollgate/events";
import { projectorServiceFields, SubscriptionRunnerSettings } from "@tollgate/eventstore";
import { logLevels, type LogLevel } from "@tollgate/observability";
import { z } from "zod";

export const BillingProjectorConfig = z.strictObject({
  ...projectorServiceFields("billing-projector", "The checkpoint's name; changing it starts the projection over (the report ledger is kept)"),
  store: z
    .strictObject({
      file: z.string().min(1).default("./data/billing-projector.db").describe("The projector's own SQLite file: usage, its checkpoint, and the report ledger"),
      synchronous: z.enum(["normal", "full"]).default("normal").describe("normal survives a process crash; full also an OS crash, at a cost"),
    })
    .prefault({})
    .describe("Where the projection and the ledger live"),
  stripe: z
    .strictObject({
      secretKey: z
        .string()
        .min(1)
        .nullable()
        .default(null)
        .describe("Stripe secret key; null: read STRIPE_SECRET_KEY; neither: usage is counted and stays pending until a key is set. Never logged"),
      host: z.string().min(1).nullable().default(null).describe("API host; null: api.stripe.com. The tests point it at their stand-in"),
      port: z.number().int().min(1).max(65_535).nullable().default(null).describe("API port; null: 443"),
      protocol: z.enum(["http", "https"]).nullable().default(null).describe("null: https"),
      timeoutMs: z.number().int().min(100).max(120_000).default(10_000).describe("A request that takes longer is abandoned and retried (same identifier)"),
    })
    .prefault({})
    .describe("Where usage is reported"),
  reporter: z
    .strictObject({
      backoffInitialMs: z.number().int().min(1).default(500).describe("Wait after the first failed send (429, 5xx, timeout); doubles with each failure, with jitter"),
      backoffMaxMs: z.number().int().min(1).default(60_000).describe("Ceiling of that wait"),
      pollIntervalMs: z.number().int().min(10).max(3_600_000).default(5_000).describe("How often pending usage is looked at besides after each batch"),
    })
    .prefault({})
    .refine((reporter) => reporter.backoffMaxMs >= reporter.backoffInitialMs, { message: "backoffMaxMs must be at least backoffInitialMs", path: ["backoffMaxMs"] }),
  billing: z
    .strictObject({
      defaults: BillingRules.prefault({}).describe("What every plan bills unless it says otherwise"),
      plans: z.record(EntityId, BillingRules.partial()).default({}).describe("Per-plan overrides of the defaults; keep them equal to the quota projector's"),
    })
    .prefault({})
    .describe("Which requests count (see billing-rules.ts for each rule and its default)"),
  runner: SubscriptionRunnerSettings.prefault({}),
  status: z
    .strictObject({
      host: z.string().default("127.0.0.1"),
      port: z.number().int().min(0).max(65_535).default(8085).describe("/healthz, /readyz, /metrics (0: any free port)"),
    })
    .prefault({}),
  logLevel: z.enum(logLevels as [LogLevel, ...LogLevel[]]).default("info"),
});

export type BillingProjectorConfig = z.infer<typeof BillingProjectorConfig>;
