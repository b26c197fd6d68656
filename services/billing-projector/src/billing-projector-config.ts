import { BillingRules, BillingRulesOverride, EntityId } from "@tollgate/events";
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
  stripeSync: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe("Create Stripe customers and subscriptions for subscriptions to plans with a stripePriceId, and follow plan changes and cancellations (needs the Stripe key)"),
    })
    .prefault({})
    .describe("Stripe customers and subscriptions from control-plane events"),
  reporter: z
    .strictObject({
      backoffInitialMs: z.number().int().min(1).default(500).describe("Wait after the first failed send (429, 5xx, timeout); doubles with each failure, with jitter"),
      backoffMaxMs: z.number().int().min(1).default(60_000).describe("Ceiling of that wait"),
      pollIntervalMs: z.number().int().min(10).max(3_600_000).default(5_000).describe("How often pending usage is looked at besides after each batch"),
    })
    .prefault({})
    .refine((reporter) => reporter.backoffMaxMs >= reporter.backoffInitialMs, { message: "backoffMaxMs must be at least backoffInitialMs", path: ["backoffMaxMs"] }),
  periods: z
    .strictObject({
      graceMs: z
        .number()
        .int()
        .min(0)
        .max(30 * 86_400_000)
        .default(3_600_000)
        .describe(
          "How long after a period ends its late requests still count in it (1 h). Then the period closes (BillingPeriodClosed), and requests of it that reach the log later are billed as adjustments in the next open period",
        ),
      checkIntervalMs: z.number().int().min(10).max(3_600_000).default(60_000).describe("How often periods past their grace window are closed"),
    })
    .prefault({})
    .describe("Service period close and late events"),
  billing: z
    .strictObject({
      defaults: BillingRules.prefault({}).describe("What every plan bills unless it says otherwise"),
      plans: z.record(EntityId, BillingRulesOverride).default({}).describe("Per-plan overrides of the defaults; keep them equal to the quota projector's (a plan's own `billing` rules win over these)"),
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
