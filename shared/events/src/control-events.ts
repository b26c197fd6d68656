import { z } from "zod";
import { BillingRulesOverride } from "./billing-rules.js";

/**
 * Control-plane events: every change to plans, consumers, credentials, subscriptions,
 * routes and upstreams, and requests to purge the gateways' caches. Each entity has its
 * own stream (`plan-<id>`, `consumer-<id>`, `credential-<id>`, `subscription-<id>`,
 * `route-<id>`, `upstream-<name>`, `cache-<purgeId>`, see streams.ts), appended with
 * optimistic concurrency, so an entity's stream is its complete, ordered history.
 *
 * No event carries a secret. API keys appear only as a SHA-256 hash and a short
 * display prefix, Basic passwords only as scrypt hashes, and HMAC signing secrets only
 * sealed with AES-256-GCM under a key that lives in configuration, never in the log.
 * Every event names its actor, so the log is also the audit trail.
 */

export const entityIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Ids of plans, consumers, credentials, subscriptions and routes. Safe in stream names, URLs and headers. */
export const EntityId = z
  .string()
  .regex(entityIdPattern, "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
  .describe("Stable identifier");

export const actorKinds = ["admin", "consumer", "apply", "system"] as const;

export const Actor = z
  .object({
    kind: z.enum(actorKinds).describe("admin: an admin token; consumer: a consumer's own credential; apply: the declarative CLI"),
    id: z.string().min(1).max(200).describe("The admin token's name, the consumer id, or the user who ran apply"),
  })
  .describe("Who made the change");

const isoTime = z.iso.datetime({ offset: true });

// ---------------------------------------------------------------------------- plans

export const rateLimitAlgorithms = ["fixed-window", "sliding-window", "token-bucket"] as const;

export const RateLimit = z.object({
  name: EntityId.describe("Named in 429 responses and in RequestRejected.limit"),
  points: z.number().int().min(1).describe("Requests allowed per window"),
  windowSeconds: z.number().int().min(1).max(31 * 86_400).describe("Window length in seconds"),
  algorithm: z.enum(rateLimitAlgorithms).describe("How the window is counted"),
});

export const quotaPeriods = ["day", "month"] as const;
export const quotaEnforcements = ["hard", "overage"] as const;

export const Quota = z.object({
  limit: z.number().int().min(1).describe("Requests per period"),
  period: z.enum(quotaPeriods).describe("Calendar period the limit resets on (UTC)"),
  enforcement: z.enum(quotaEnforcements).describe("hard: reject past the limit; overage: allow and bill the excess"),
});

export const PriceReference = z.object({
  stripePriceId: z.string().min(1).max(255).nullable().describe("Stripe price the plan bills under, if billed"),
  stripeMeterEventName: z.string().min(1).max(100).nullable().describe("event_name of the Stripe billing meter usage is reported to"),
});

export const PriceTier = z.object({
  upTo: z.number().int().min(1).nullable().describe("Last unit (cumulative, after the included units) this tier prices; null: every unit beyond the previous tier"),
  unitPriceMinor: z.number().nonnegative().describe("Price of each unit in this tier, in minor units of the currency; may be fractional (0.05 = a twentieth of a cent)"),
  flatFeeMinor: z.number().int().nonnegative().default(0).describe("Charged once when any unit falls in this tier, in minor units"),
});

/**
 * What a plan charges, for rating (the invoice preview, re-rating, reconciliation). Stripe
 * prices the meter itself (PriceReference); this is Tollgate's own statement of the same
 * price, so a period can be rated from the log alone. Prices change through PlanUpdated,
 * so the log position of each change says which price was in force for which request.
 */
export const PlanPricing = z
  .object({
    currency: z.string().regex(/^[a-z]{3}$/, "an ISO 4217 code, lower case, as Stripe writes it").describe("e.g. usd, eur"),
    flatFeeMinor: z.number().int().nonnegative().default(0).describe("Fixed fee per billing period, in minor units"),
    includedUnits: z.number().int().nonnegative().default(0).describe("Billable requests per period covered by the flat fee"),
    overageUnitPriceMinor: z
      .number()
      .nonnegative()
      .default(0)
      .describe("Price of each billable request beyond the included units, in minor units; may be fractional. Ignored when tiers are given"),
    tiers: z
      .array(PriceTier)
      .max(20)
      .nullable()
      .default(null)
      .refine((tiers) => tiers === null || tiers.every((tier, index) => (tier.upTo === null) === (index === tiers.length - 1)), "only the last tier, and it always, has upTo: null")
      .refine(
        (tiers) => tiers === null || tiers.every((tier, index) => index === 0 || tier.upTo === null || tier.upTo > (tiers[index - 1]!.upTo ?? 0)),
        "tiers' upTo must increase",
      )
      .describe("Graduated tiers over the units beyond the included ones (each unit priced by the tier it falls in); null: one overage price"),
  })
  .describe("Flat fee, included units and overage price per billing period");

/** Everything a plan says. PlanUpdated carries a subset of these fields, with their new values. */
export const PlanDefinition = z.object({
  name: z.string().min(1).max(200),
  description: z.string().max(2_000),
  public: z.boolean().describe("Listed to consumers for self-service subscription"),
  rateLimits: z.array(RateLimit).max(10).describe("Every limit must admit a request; names are unique within the plan"),
  quota: Quota.nullable().describe("Requests per period; null for none"),
  routes: z.array(z.union([EntityId, z.literal("*")])).max(500).describe('Route ids the plan allows; "*" allows every route'),
  scopes: z.array(z.string().min(1).max(100)).max(100).describe("Scopes a subscription to this plan grants"),
  price: PriceReference,
  pricing: PlanPricing.nullable().optional().describe("What the plan charges per billing period; absent or null: not rated (usage is still metered)"),
  billing: BillingRulesOverride.nullable()
    .optional()
    .describe("Which requests the plan bills and counts against its quota (billing-rules.ts); absent or null: the projectors' configured rules"),
});

export const PlanCreated = z.object({
  type: z.literal("PlanCreated"),
  version: z.literal(1),
  data: z.object({ planId: EntityId, ...PlanDefinition.shape, actor: Actor }),
});

export const PlanUpdated = z.object({
  type: z.literal("PlanUpdated"),
  version: z.literal(1),
  data: z.object({
    planId: EntityId,
    changes: PlanDefinition.partial().describe("Only the fields that changed, with their new values"),
    actor: Actor,
  }),
});

export const PlanArchived = z.object({
  type: z.literal("PlanArchived"),
  version: z.literal(1),
  data: z.object({ planId: EntityId, actor: Actor }),
});

// ---------------------------------------------------------------------------- consumers

export const ConsumerProfile = z.object({
  name: z.string().min(1).max(200),
  email: z.email().nullable().describe("Contact address; null when unknown"),
  labels: z.record(z.string().min(1).max(63), z.string().max(255)).describe("Free-form key/value labels"),
});

export const ConsumerRegistered = z.object({
  type: z.literal("ConsumerRegistered"),
  version: z.literal(1),
  data: z.object({ consumerId: EntityId, ...ConsumerProfile.shape, actor: Actor }),
});

export const ConsumerUpdated = z.object({
  type: z.literal("ConsumerUpdated"),
  version: z.literal(1),
  data: z.object({ consumerId: EntityId, changes: ConsumerProfile.partial(), actor: Actor }),
});

// ---------------------------------------------------------------------------- credentials

const credentialRef = { credentialId: EntityId, consumerId: EntityId };

export const ApiKeyHash = z
  .string()
  .regex(/^[0-9a-f]{64}$/, "expected a lowercase hex SHA-256 digest")
  .describe("SHA-256 of the full key, hex. Keys are 256-bit random, so a fast hash is enough; never the key itself");

export const ApiKeyPrefix = z.string().min(4).max(32).describe("The key's first characters, for people to recognise it; not enough to use it");

export const ApiKeyIssued = z.object({
  type: z.literal("ApiKeyIssued"),
  version: z.literal(1),
  data: z.object({
    ...credentialRef,
    keyId: EntityId.describe("Id of this key material; rotation issues a new one under the same credential"),
    name: z.string().max(200),
    prefix: ApiKeyPrefix,
    hash: ApiKeyHash,
    expiresAt: isoTime.nullable().describe("After this instant the key is refused; null for no expiry"),
    actor: Actor,
  }),
});

export const ApiKeyRotated = z.object({
  type: z.literal("ApiKeyRotated"),
  version: z.literal(1),
  data: z.object({
    ...credentialRef,
    keyId: EntityId.describe("The new key material"),
    prefix: ApiKeyPrefix,
    hash: ApiKeyHash,
    expiresAt: isoTime.nullable().describe("Expiry of the new key"),
    previousKeyId: EntityId,
    previousKeyExpiresAt: isoTime.describe("End of the overlap window: the previous key is accepted until then"),
    actor: Actor,
  }),
});

export const ApiKeyRevoked = z.object({
  type: z.literal("ApiKeyRevoked"),
  version: z.literal(1),
  data: z.object({ ...credentialRef, reason: z.string().max(500).nullable(), actor: Actor }),
});

export const JwtIdentityMatch = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("subject"), subject: z.string().min(1).max(500).describe("The token's `sub`") }),
  z.object({
    kind: z.literal("claim"),
    claim: z.string().min(1).max(100).describe("A claim name, e.g. `client_id` or `org`"),
    value: z.string().min(1).max(500).describe("The value that identifies this consumer"),
  }),
]);

export const JwtIdentityMapped = z.object({
  type: z.literal("JwtIdentityMapped"),
  version: z.literal(1),
  data: z.object({
    ...credentialRef,
    issuer: z.string().min(1).max(500).describe("The token's `iss`, exactly"),
    match: JwtIdentityMatch,
    actor: Actor,
  }),
});

export const JwtIdentityUnmapped = z.object({
  type: z.literal("JwtIdentityUnmapped"),
  version: z.literal(1),
  data: z.object({ ...credentialRef, actor: Actor }),
});

export const ScryptPasswordHash = z
  .object({
    algorithm: z.literal("scrypt"),
    N: z.number().int().min(2).describe("CPU/memory cost, a power of two"),
    r: z.number().int().min(1),
    p: z.number().int().min(1),
    keyLength: z.number().int().min(16).max(64),
    salt: z.base64().describe("Random per password"),
    hash: z.base64(),
  })
  .describe("A scrypt password hash with its salt and parameters, so parameters can be raised later");

export const basicUsernamePattern = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

export const BasicUserCreated = z.object({
  type: z.literal("BasicUserCreated"),
  version: z.literal(1),
  data: z.object({
    ...credentialRef,
    username: z.string().regex(basicUsernamePattern, "use 1-128 letters, digits, '.', '_', '@' or '-'"),
    passwordHash: ScryptPasswordHash,
    actor: Actor,
  }),
});

export const BasicPasswordChanged = z.object({
  type: z.literal("BasicPasswordChanged"),
  version: z.literal(1),
  data: z.object({ ...credentialRef, passwordHash: ScryptPasswordHash, actor: Actor }),
});

export const BasicUserRemoved = z.object({
  type: z.literal("BasicUserRemoved"),
  version: z.literal(1),
  data: z.object({ ...credentialRef, actor: Actor }),
});

export const SealedSecret = z
  .object({
    algorithm: z.literal("aes-256-gcm"),
    keyId: z.string().min(1).max(64).describe("Which configured encryption key sealed it; keys rotate, old ids stay readable"),
    iv: z.base64().describe("96-bit nonce, random per encryption"),
    ciphertext: z.base64(),
    tag: z.base64().describe("GCM authentication tag; the credential id is bound as associated data"),
  })
  .describe("A secret encrypted with AES-256-GCM; the key itself never enters the log");

export const HmacSecretIssued = z.object({
  type: z.literal("HmacSecretIssued"),
  version: z.literal(1),
  data: z.object({ ...credentialRef, name: z.string().max(200), secret: SealedSecret, actor: Actor }),
});

export const HmacSecretReencrypted = z.object({
  type: z.literal("HmacSecretReencrypted"),
  version: z.literal(1),
  data: z.object({
    ...credentialRef,
    secret: SealedSecret.describe("The same secret, sealed under the current encryption key"),
    previousKeyId: z.string().min(1).max(64),
    actor: Actor,
  }),
});

export const HmacSecretRevoked = z.object({
  type: z.literal("HmacSecretRevoked"),
  version: z.literal(1),
  data: z.object({ ...credentialRef, actor: Actor }),
});

// ---------------------------------------------------------------------------- subscriptions

const subscriptionRef = { subscriptionId: EntityId, consumerId: EntityId };

export const SubscriptionStarted = z.object({
  type: z.literal("SubscriptionStarted"),
  version: z.literal(1),
  data: z.object({
    ...subscriptionRef,
    planId: EntityId,
    billingAnchor: z.iso
      .datetime()
      .nullable()
      .optional()
      .describe("When set, quota and billing periods are aligned to this instant (Stripe's billing_cycle_anchor); absent or null: calendar periods, UTC"),
    actor: Actor,
  }),
});

export const SubscriptionSuspended = z.object({
  type: z.literal("SubscriptionSuspended"),
  version: z.literal(1),
  data: z.object({ ...subscriptionRef, reason: z.string().max(500).nullable(), actor: Actor }),
});

export const SubscriptionReactivated = z.object({
  type: z.literal("SubscriptionReactivated"),
  version: z.literal(1),
  data: z.object({ ...subscriptionRef, actor: Actor }),
});

export const SubscriptionCancelled = z.object({
  type: z.literal("SubscriptionCancelled"),
  version: z.literal(1),
  data: z.object({ ...subscriptionRef, reason: z.string().max(500).nullable(), actor: Actor }),
});

export const SubscriptionPlanChanged = z.object({
  type: z.literal("SubscriptionPlanChanged"),
  version: z.literal(1),
  data: z.object({ ...subscriptionRef, fromPlanId: EntityId, toPlanId: EntityId, actor: Actor }),
});

// ---------------------------------------------------------------------------- routes

export const RouteDefinition = z.object({
  match: z.object({
    pathPrefix: z.string().startsWith("/").max(1_000).describe("Normalized path prefix, matched on segment boundaries"),
    hosts: z.array(z.string().min(1).max(253)).max(50).describe("Host names; empty matches any host"),
    methods: z.array(z.string().regex(/^[A-Z]+$/)).max(20).describe("Methods; empty matches any method"),
  }),
  upstream: z.string().min(1).max(64).describe("Name of an upstream in the gateway's configuration"),
  stripPrefix: z.boolean().describe("Remove the matched prefix before forwarding"),
});

export const RouteDefined = z.object({
  type: z.literal("RouteDefined"),
  version: z.literal(1),
  data: z.object({ routeId: EntityId, ...RouteDefinition.shape, actor: Actor }).describe("Defines a route, or replaces its whole definition"),
});

export const RouteRemoved = z.object({
  type: z.literal("RouteRemoved"),
  version: z.literal(1),
  data: z.object({ routeId: EntityId, actor: Actor }),
});

// ---------------------------------------------------------------------------- upstreams

/** Names of upstreams as the gateway's config declares them; the stream is `upstream-<name>`. */
export const UpstreamName = z.string().regex(entityIdPattern, "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");

export const UpstreamTargetOverride = z.object({
  url: z
    .url({ protocol: /^https?$/ })
    .refine((url) => {
      const parsed = new URL(url);
      return parsed.pathname === "/" && parsed.search === "" && parsed.hash === "" && parsed.username === "" && parsed.password === "";
    }, "an origin only: scheme, host and port, no path, query or credentials")
    .describe("Origin of the target (http or https)"),
  weight: z.number().int().min(1).max(1000).describe("Relative share for weighted algorithms (1-1000)"),
});

export const UpstreamTargets = z
  .array(UpstreamTargetOverride)
  .min(1)
  .max(100)
  .refine((targets) => new Set(targets.map((target) => new URL(target.url).origin)).size === targets.length, "target urls must be unique")
  .describe("The upstream's whole target set, replacing the one in the gateway's config");

/**
 * Replaces the targets of an upstream declared in the gateway's config, live. The
 * control plane does not know the gateway's config, so a gateway ignores (and logs)
 * an override for an upstream it does not declare.
 */
export const UpstreamTargetsSet = z.object({
  type: z.literal("UpstreamTargetsSet"),
  version: z.literal(1),
  data: z.object({ upstream: UpstreamName, targets: UpstreamTargets, actor: Actor }),
});

/** Drops the override: the gateway goes back to the targets in its config. */
export const UpstreamTargetsReset = z.object({
  type: z.literal("UpstreamTargetsReset"),
  version: z.literal(1),
  data: z.object({ upstream: UpstreamName, actor: Actor }),
});

// ---------------------------------------------------------------------------- cache

/** Which cached responses a purge removes; at least one field (see namesCachePurgeFilter). */
export const CachePurgeFilter = z.object({
  routeId: EntityId.optional().describe("Purge this route's entries"),
  keyPrefix: z
    .string()
    .min(1)
    .max(2_048)
    .optional()
    .describe('Purge entries whose key (host + path + sorted query, e.g. "api.example.com/products/") starts with this'),
});

export const cachePurgeFilterMessage = "name a routeId, a keyPrefix or both";

/** A purge names a route, a key prefix or both: an empty filter would empty the whole cache, which no caller means by accident. */
export function namesCachePurgeFilter(filter: { routeId?: string | undefined; keyPrefix?: string | undefined }): boolean {
  return filter.routeId !== undefined || filter.keyPrefix !== undefined;
}

/**
 * Asks every gateway to purge its response cache: the entries of one route, the entries
 * whose key starts with `keyPrefix`, or (both given) that route's entries with that key
 * prefix; the same filter as a gateway's `POST /cache/purge`. One stream per request
 * (`cache-<purgeId>`). A gateway applies only the requests it reads after it has caught
 * up with the log at start: an older one must not empty a shared cache filled since.
 */
export const CachePurgeRequested = z.object({
  type: z.literal("CachePurgeRequested"),
  version: z.literal(1),
  data: z
    .object({
      purgeId: EntityId.describe("Names this purge in the gateways' logs"),
      ...CachePurgeFilter.shape,
      requestedAt: isoTime.describe("When the control plane accepted the request"),
      actor: Actor,
    })
    .refine(namesCachePurgeFilter, cachePurgeFilterMessage),
});

// ---------------------------------------------------------------------------- unions

export const PlanEvent = z.discriminatedUnion("type", [PlanCreated, PlanUpdated, PlanArchived]);
export const ConsumerEvent = z.discriminatedUnion("type", [ConsumerRegistered, ConsumerUpdated]);
export const CredentialEvent = z.discriminatedUnion("type", [
  ApiKeyIssued,
  ApiKeyRotated,
  ApiKeyRevoked,
  JwtIdentityMapped,
  JwtIdentityUnmapped,
  BasicUserCreated,
  BasicPasswordChanged,
  BasicUserRemoved,
  HmacSecretIssued,
  HmacSecretReencrypted,
  HmacSecretRevoked,
]);
export const SubscriptionEvent = z.discriminatedUnion("type", [
  SubscriptionStarted,
  SubscriptionSuspended,
  SubscriptionReactivated,
  SubscriptionCancelled,
  SubscriptionPlanChanged,
]);
export const RouteEvent = z.discriminatedUnion("type", [RouteDefined, RouteRemoved]);
export const UpstreamEvent = z.discriminatedUnion("type", [UpstreamTargetsSet, UpstreamTargetsReset]);
export const CacheEvent = z.discriminatedUnion("type", [CachePurgeRequested]);

export const ControlEvent = z.discriminatedUnion("type", [
  ...PlanEvent.options,
  ...ConsumerEvent.options,
  ...CredentialEvent.options,
  ...SubscriptionEvent.options,
  ...RouteEvent.options,
  ...UpstreamEvent.options,
  ...CacheEvent.options,
]);

export type EntityId = z.infer<typeof EntityId>;
export type Actor = z.infer<typeof Actor>;
export type ActorKind = (typeof actorKinds)[number];
export type RateLimit = z.infer<typeof RateLimit>;
export type RateLimitAlgorithm = (typeof rateLimitAlgorithms)[number];
export type Quota = z.infer<typeof Quota>;
export type PriceReference = z.infer<typeof PriceReference>;
export type PriceTier = z.infer<typeof PriceTier>;
export type PlanPricing = z.infer<typeof PlanPricing>;
export type PlanDefinition = z.infer<typeof PlanDefinition>;
export type ConsumerProfile = z.infer<typeof ConsumerProfile>;
export type JwtIdentityMatch = z.infer<typeof JwtIdentityMatch>;
export type ScryptPasswordHash = z.infer<typeof ScryptPasswordHash>;
export type SealedSecret = z.infer<typeof SealedSecret>;
export type RouteDefinition = z.infer<typeof RouteDefinition>;
export type UpstreamTargetOverride = z.infer<typeof UpstreamTargetOverride>;
export type CachePurgeFilter = z.infer<typeof CachePurgeFilter>;

export type PlanCreated = z.infer<typeof PlanCreated>;
export type PlanUpdated = z.infer<typeof PlanUpdated>;
export type PlanArchived = z.infer<typeof PlanArchived>;
export type ConsumerRegistered = z.infer<typeof ConsumerRegistered>;
export type ConsumerUpdated = z.infer<typeof ConsumerUpdated>;
export type ApiKeyIssued = z.infer<typeof ApiKeyIssued>;
export type ApiKeyRotated = z.infer<typeof ApiKeyRotated>;
export type ApiKeyRevoked = z.infer<typeof ApiKeyRevoked>;
export type JwtIdentityMapped = z.infer<typeof JwtIdentityMapped>;
export type JwtIdentityUnmapped = z.infer<typeof JwtIdentityUnmapped>;
export type BasicUserCreated = z.infer<typeof BasicUserCreated>;
export type BasicPasswordChanged = z.infer<typeof BasicPasswordChanged>;
export type BasicUserRemoved = z.infer<typeof BasicUserRemoved>;
export type HmacSecretIssued = z.infer<typeof HmacSecretIssued>;
export type HmacSecretReencrypted = z.infer<typeof HmacSecretReencrypted>;
export type HmacSecretRevoked = z.infer<typeof HmacSecretRevoked>;
export type SubscriptionStarted = z.infer<typeof SubscriptionStarted>;
export type SubscriptionSuspended = z.infer<typeof SubscriptionSuspended>;
export type SubscriptionReactivated = z.infer<typeof SubscriptionReactivated>;
export type SubscriptionCancelled = z.infer<typeof SubscriptionCancelled>;
export type SubscriptionPlanChanged = z.infer<typeof SubscriptionPlanChanged>;
export type RouteDefined = z.infer<typeof RouteDefined>;
export type RouteRemoved = z.infer<typeof RouteRemoved>;
export type UpstreamTargetsSet = z.infer<typeof UpstreamTargetsSet>;
export type UpstreamTargetsReset = z.infer<typeof UpstreamTargetsReset>;
export type CachePurgeRequested = z.infer<typeof CachePurgeRequested>;

export type PlanEvent = z.infer<typeof PlanEvent>;
export type ConsumerEvent = z.infer<typeof ConsumerEvent>;
export type CredentialEvent = z.infer<typeof CredentialEvent>;
export type SubscriptionEvent = z.infer<typeof SubscriptionEvent>;
export type RouteEvent = z.infer<typeof RouteEvent>;
export type UpstreamEvent = z.infer<typeof UpstreamEvent>;
export type CacheEvent = z.infer<typeof CacheEvent>;
export type ControlEvent = z.infer<typeof ControlEvent>;
export type ControlEventType = ControlEvent["type"];

export const planEventTypes: readonly PlanEvent["type"][] = PlanEvent.options.map((option) => option.shape.type.value);
export const consumerEventTypes: readonly ConsumerEvent["type"][] = ConsumerEvent.options.map((option) => option.shape.type.value);
export const credentialEventTypes: readonly CredentialEvent["type"][] = CredentialEvent.options.map((option) => option.shape.type.value);
export const subscriptionEventTypes: readonly SubscriptionEvent["type"][] = SubscriptionEvent.options.map(
  (option) => option.shape.type.value,
);
export const routeEventTypes: readonly RouteEvent["type"][] = RouteEvent.options.map((option) => option.shape.type.value);
export const upstreamEventTypes: readonly UpstreamEvent["type"][] = UpstreamEvent.options.map((option) => option.shape.type.value);
export const cacheEventTypes: readonly CacheEvent["type"][] = CacheEvent.options.map((option) => option.shape.type.value);
export const controlEventTypes: readonly ControlEventType[] = ControlEvent.options.map((option) => option.shape.type.value);
