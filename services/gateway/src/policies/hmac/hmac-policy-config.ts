import { z } from "zod";

const realmPattern = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,100}$/;

/** Header names a signature may list: lower-case RFC 9110 tokens. */
export const signedHeaderName = z
  .string()
  .regex(/^[a-z0-9!#$%&'*+.^_`|~-]{1,100}$/, "use a lower-case header name")
  .refine((name) => !alwaysSigned.has(name), "authorization, x-tollgate-date and content-digest are covered already; do not list them");

/** Covered by every signature through their own lines of the string to sign (or, for authorization, carrying it). */
export const alwaysSigned: ReadonlySet<string> = new Set(["authorization", "x-tollgate-date", "content-digest"]);

export const HmacPolicyConfig = z.strictObject({
  maxClockSkewSeconds: z
    .number()
    .int()
    .min(1)
    .max(900)
    .default(300)
    .describe("How far X-Tollgate-Date may be from the gateway's clock, either way; also how long nonces are remembered"),
  requiredSignedHeaders: z
    .array(signedHeaderName)
    .default(["host"])
    .describe("Headers every signature must cover besides the date and the body digest (host by default, so a signature cannot be replayed against another API)"),
  nonceCacheMaxEntries: z
    .number()
    .int()
    .min(1_000)
    .max(10_000_000)
    .default(100_000)
    .describe("Most nonces remembered at once; when it is full of unexpired nonces new signed requests get 503 rather than forgetting one"),
  maxBodyBytes: z
    .number()
    .int()
    .min(0)
    .max(64 * 1024 * 1024)
    .default(1_048_576)
    .describe("Largest body a signed request may carry: the pipeline holds the body until its digest is checked, so it is never forwarded unverified"),
  realm: z.string().regex(realmPattern, "use 1-100 printable ASCII characters other than '\"' and '\\'").default("tollgate").describe("The realm named in WWW-Authenticate"),
});

export type HmacPolicyConfig = z.infer<typeof HmacPolicyConfig>;

/** `auth: [{ type: hmac, ... }]` on a route. */
export const HmacAuthenticatorConfig = HmacPolicyConfig.safeExtend({
  type: z.literal("hmac").describe("Authenticates with an HMAC-SHA256 request signature (docs/hmac-signing.md)"),
  hideCredential: z
    .boolean()
    .default(true)
    .describe("Remove the Authorization header before forwarding: the upstream learns who called from X-Consumer-Id, and never sees the credential"),
});

export type HmacAuthenticatorConfig = z.infer<typeof HmacAuthenticatorConfig>;
