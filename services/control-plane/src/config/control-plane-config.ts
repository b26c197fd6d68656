import { AnalyticsStoreConfig } from "@tollgate/analytics";
import { EventStoreConfig } from "@tollgate/eventstore";
import { logLevels, type LogLevel } from "@tollgate/observability";
import { z } from "zod";

/**
 * The control plane's one configuration schema, parsed once at boot. Every field has
 * a description and a default; objects are strict, so a misspelt field is reported
 * instead of silently ignored, and every problem is listed with its path.
 */

const port = z.number().int().min(0).max(65_535);

export const ListenConfig = z.strictObject({
  host: z.string().min(1).default("127.0.0.1").describe("Interface the admin and consumer APIs listen on"),
  port: port.default(8090).describe("Port; 0 picks a free port (logged at start)"),
});

export const adminAccessLevels = ["read", "write"] as const;

export const AdminToken = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, "use 1-64 letters, digits, '.', '_', '@' or '-'")
    .describe("Who holds the token; recorded as the actor of every change made with it"),
  token: z
    .string()
    .min(32, "use at least 32 characters (e.g. `openssl rand -base64 32`)")
    .max(512)
    .describe("The bearer token. Keep it out of version control: set it with TOLLGATE_CONTROL_PLANE__ADMIN_TOKENS__<i>__TOKEN"),
  access: z.enum(adminAccessLevels).default("read").describe("read: GET only; write: every admin operation"),
});

export const SecretKeysConfig = z
  .strictObject({
    current: z.string().min(1).max(64).describe("Id of the key new HMAC secrets are sealed with"),
    keys: z
      .record(
        z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "use 1-64 letters, digits, '.', '_' or '-'"),
        z.base64("expected base64").refine((value) => Buffer.from(value, "base64").length === 32, "must decode to exactly 32 bytes"),
      )
      .describe("Every key that may still be needed to open a secret, by id: base64 of 32 random bytes (`openssl rand -base64 32`)"),
  })
  .superRefine((config, ctx) => {
    if (!(config.current in config.keys)) {
      ctx.addIssue({ code: "custom", path: ["current"], message: `"${config.current}" is not one of the keys` });
    }
  });

export const QuotaStoreConfig = z.strictObject({
  file: z
    .string()
    .min(1)
    .default("./data/quota-projector.db")
    .describe("The quota projector's store.file; until it exists, usage reads as zero with projected: false"),
  projectorName: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)
    .default("quota-projector")
    .describe("The quota projector's name: its checkpoint, reported with the counts, is stored under it"),
});

export const BillingStoreConfig = z.strictObject({
  file: z
    .string()
    .min(1)
    .default("./data/billing-projector.db")
    .describe("The billing projector's store.file, read (read-only) for invoice previews, receipts, the reconciliation and re-rating; until it exists they answer 409 invalid-state"),
  projectorName: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)
    .default("billing-projector")
    .describe("The billing projector's name: its checkpoint is stored under it"),
});

export const StripeWebhooksConfig = z.strictObject({
  signingSecret: z
    .string()
    .min(1)
    .nullable()
    .default(null)
    .describe("The webhook endpoint's signing secret (whsec_…); null: read STRIPE_WEBHOOK_SECRET; neither: POST /webhooks/stripe answers 503. Never logged"),
  toleranceSeconds: z
    .number()
    .int()
    .min(1)
    .max(3_600)
    .default(300)
    .describe("Oldest signature timestamp accepted, in seconds (Stripe's default, 300): an older delivery is refused as a possible replay"),
});

export const ControlPlaneConfig = z
  .strictObject({
    listen: ListenConfig.prefault({}).describe("Where the APIs listen"),
    eventStore: EventStoreConfig.default({ kind: "sqlite", file: "./data/events.db", synchronous: "normal", busyTimeoutMs: 5_000 }),
    adminTokens: z
      .array(AdminToken)
      .default([])
      .describe("Tokens for /admin, compared in constant time; with none, every /admin request is refused"),
    secretKeys: SecretKeysConfig.nullable()
      .default(null)
      .describe("AES-256-GCM keys that seal HMAC signing secrets in the log; null disables HMAC secrets"),
    readYourWritesTimeoutMs: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(5_000)
      .describe("How long a write waits for the read model to show it before answering from the log instead"),
    analytics: AnalyticsStoreConfig.nullable()
      .default(null)
      .describe("The analytics store the query API and the dashboard read (the analytics projector's); null disables them unless CLICKHOUSE_URL is set"),
    shutdownGraceMs: z.number().int().min(0).max(120_000).default(5_000).describe("How long SIGTERM waits for in-flight requests"),
    stripeWebhooks: StripeWebhooksConfig.prefault({}).describe("POST /webhooks/stripe: Stripe's signed events (payment failed, paid, subscription deleted)"),
    quotaStore: QuotaStoreConfig.prefault({}).describe("The quota projector's SQLite file, read (read-only) for the subscriptions' quota use"),
    billingStore: BillingStoreConfig.prefault({}).describe("The billing projector's SQLite file, read (read-only) for the billing views"),
    logging: z
      .strictObject({
        level: z
          .enum(logLevels as [LogLevel, ...LogLevel[]])
          .default("info")
          .describe("pino level; secrets are redacted at every level, and request logs never include headers or bodies"),
      })
      .prefault({})
      .describe("Logging"),
  })
  .superRefine((config, ctx) => {
    const seenNames = new Map<string, number>();
    const seenTokens = new Map<string, number>();
    config.adminTokens.forEach((entry, index) => {
      const name = seenNames.get(entry.name);
      if (name !== undefined) ctx.addIssue({ code: "custom", path: ["adminTokens", index, "name"], message: `same name as adminTokens[${name}]` });
      else seenNames.set(entry.name, index);
      // Never echo the token itself in an error: the problem list may end up in a log.
      const token = seenTokens.get(entry.token);
      if (token !== undefined) ctx.addIssue({ code: "custom", path: ["adminTokens", index, "token"], message: `same token as adminTokens[${token}]` });
      else seenTokens.set(entry.token, index);
    });
  });

export type ControlPlaneConfig = z.infer<typeof ControlPlaneConfig>;
export type AdminToken = z.infer<typeof AdminToken>;
export type AdminAccess = (typeof adminAccessLevels)[number];
export type SecretKeysConfig = z.infer<typeof SecretKeysConfig>;
export type QuotaStoreConfig = z.infer<typeof QuotaStoreConfig>;
export type BillingStoreConfig = z.infer<typeof BillingStoreConfig>;
export type StripeWebhooksConfig = z.infer<typeof StripeWebhooksConfig>;
