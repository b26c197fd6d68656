import { subscriptionStatuses } from "@tollgate/credentials";
import { ConsumerProfile, EntityId, JwtIdentityMatch, PlanDefinition, PriceReference, Quota, RateLimit, RouteDefinition, basicUsernamePattern } from "@tollgate/events";
import { formatIssuePath } from "@tollgate/config";
import { z } from "zod";

/**
 * The declarative file `tollgate apply` reads. It states the whole desired state of
 * every entity it names: a field left out takes its default, so removing a line from
 * the file resets that field. Entities the file does not name are left alone.
 *
 * Credentials are declared by reference: the file never holds a key or a password,
 * only the name of an environment variable that does (`keyFromEnv`, `passwordFromEnv`).
 */

const envVarName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, "an environment variable name, e.g. ACME_CI_KEY")
  .describe("Name of the environment variable holding the secret; the secret itself never goes in the file");

export const DeclaredPlan = z.strictObject({
  id: EntityId,
  name: PlanDefinition.shape.name,
  description: PlanDefinition.shape.description.default(""),
  public: PlanDefinition.shape.public.default(false),
  rateLimits: z.array(RateLimit).max(10).default([]),
  quota: Quota.nullable().default(null),
  routes: PlanDefinition.shape.routes.default([]),
  scopes: PlanDefinition.shape.scopes.default([]),
  price: PriceReference.default({ stripePriceId: null, stripeMeterEventName: null }),
  archived: z.boolean().default(false).describe("true archives the plan (it takes no new subscriptions); archiving cannot be undone"),
});

export const DeclaredApiKey = z.strictObject({
  id: EntityId,
  name: z.string().max(200).default(""),
  keyFromEnv: envVarName,
  expiresAt: z.iso.datetime({ offset: true }).nullable().default(null),
  rotationOverlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(0)
    .describe("When the variable holds a different key than the one recorded, the old key keeps working this long"),
  revoked: z.boolean().default(false),
});

export const DeclaredBasicUser = z.strictObject({
  id: EntityId,
  username: z.string().regex(basicUsernamePattern),
  passwordFromEnv: envVarName,
  revoked: z.boolean().default(false),
});

export const DeclaredJwtIdentity = z.strictObject({
  id: EntityId,
  issuer: z.string().min(1).max(500),
  match: JwtIdentityMatch,
  revoked: z.boolean().default(false),
});

export const DeclaredConsumer = z.strictObject({
  id: EntityId,
  name: ConsumerProfile.shape.name,
  email: ConsumerProfile.shape.email.default(null),
  labels: ConsumerProfile.shape.labels.default({}),
  apiKeys: z.array(DeclaredApiKey).default([]),
  basicUsers: z.array(DeclaredBasicUser).default([]),
  jwtIdentities: z.array(DeclaredJwtIdentity).default([]),
});

export const DeclaredSubscription = z.strictObject({
  id: EntityId,
  consumer: EntityId.describe("A consumer id, in this file or already in the log"),
  plan: EntityId.describe("A plan id, in this file or already in the log"),
  status: z.enum(subscriptionStatuses).default("active"),
});

export const DeclaredRoute = z.strictObject({
  id: EntityId,
  match: z.strictObject({
    pathPrefix: RouteDefinition.shape.match.shape.pathPrefix,
    hosts: RouteDefinition.shape.match.shape.hosts.default([]),
    methods: RouteDefinition.shape.match.shape.methods.default([]),
  }),
  upstream: RouteDefinition.shape.upstream,
  stripPrefix: RouteDefinition.shape.stripPrefix.default(false),
});

export const DeclarationFile = z
  .strictObject({
    routes: z.array(DeclaredRoute).default([]),
    plans: z.array(DeclaredPlan).default([]),
    consumers: z.array(DeclaredConsumer).default([]),
    subscriptions: z.array(DeclaredSubscription).default([]),
  })
  .superRefine((file, ctx) => {
    const unique = (kind: string, ids: { id: string; path: (string | number)[] }[]): void => {
      const seen = new Map<string, string>();
      for (const { id, path } of ids) {
        const first = seen.get(id);
        if (first !== undefined) ctx.addIssue({ code: "custom", path: [...path, "id"], message: `${kind} "${id}" is already declared at ${first}` });
        else seen.set(id, formatIssuePath(path));
      }
    };
    unique("route", file.routes.map((route, index) => ({ id: route.id, path: ["routes", index] })));
    unique("plan", file.plans.map((plan, index) => ({ id: plan.id, path: ["plans", index] })));
    unique("consumer", file.consumers.map((consumer, index) => ({ id: consumer.id, path: ["consumers", index] })));
    unique("subscription", file.subscriptions.map((subscription, index) => ({ id: subscription.id, path: ["subscriptions", index] })));
    unique(
      "credential",
      file.consumers.flatMap((consumer, c) => [
        ...consumer.apiKeys.map((key, index) => ({ id: key.id, path: ["consumers", c, "apiKeys", index] })),
        ...consumer.basicUsers.map((user, index) => ({ id: user.id, path: ["consumers", c, "basicUsers", index] })),
        ...consumer.jwtIdentities.map((identity, index) => ({ id: identity.id, path: ["consumers", c, "jwtIdentities", index] })),
      ]),
    );
  });

export type DeclarationFile = z.infer<typeof DeclarationFile>;
export type DeclaredPlan = z.infer<typeof DeclaredPlan>;
export type DeclaredConsumer = z.infer<typeof DeclaredConsumer>;
