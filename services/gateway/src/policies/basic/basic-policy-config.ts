import { z } from "zod";

const realmPattern = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,100}$/;

export const BasicCacheConfig = z.strictObject({
  ttlMs: z
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(60_000)
    .describe("How long a successful password check is reused for the same username and password; 0 runs the slow hash on every request"),
  maxEntries: z.number().int().min(1).max(1_000_000).default(10_000).describe("Most cached successful checks; the oldest makes room"),
});

export const BasicPolicyConfig = z.strictObject({
  realm: z.string().regex(realmPattern, "use 1-100 printable ASCII characters other than '\"' and '\\'").default("tollgate").describe("The realm named in WWW-Authenticate"),
  cache: BasicCacheConfig.prefault({}).describe("Cache of successful password checks (see the README for the tradeoff)"),
});

export type BasicCacheConfig = z.infer<typeof BasicCacheConfig>;
export type BasicPolicyConfig = z.infer<typeof BasicPolicyConfig>;

/** `auth: [{ type: basic, ... }]` on a route. */
export const BasicAuthenticatorConfig = BasicPolicyConfig.safeExtend({
  type: z.literal("basic").describe("Authenticates with HTTP Basic against the control plane's hashed passwords"),
  hideCredential: z
    .boolean()
    .default(true)
    .describe("Remove the Authorization header before forwarding: the upstream learns who called from X-Consumer-Id, and never sees the credential"),
});

export type BasicAuthenticatorConfig = z.infer<typeof BasicAuthenticatorConfig>;
