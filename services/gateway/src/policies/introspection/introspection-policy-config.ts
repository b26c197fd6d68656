import { z } from "zod";

const realmPattern = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,100}$/;
const loopbackHosts = new Set(["localhost", "[::1]"]);

export const IntrospectionPolicyConfig = z
  .strictObject({
    endpoint: z
      .url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" })
      .describe("Required. The authorization server's introspection endpoint (RFC 7662); https unless loopback or allowInsecureHttp"),
    issuer: z
      .string()
      .min(1)
      .max(500)
      .describe("Required. The authorization server's issuer identifier: identities are looked up as (issuer, claim, value), like JWT identity mappings"),
    clientId: z.string().min(1).max(500).describe("Required. The gateway's client id at the authorization server (HTTP Basic, RFC 6749 2.3.1)"),
    clientSecret: z
      .string()
      .min(1)
      .max(1_000)
      .describe("Required. The gateway's client secret; set it through the environment override rather than in a committed file"),
    identityClaims: z
      .array(z.string().min(1).max(100))
      .min(1)
      .default(["client_id"])
      .describe("Response members tried in order to find the consumer: each is looked up as (issuer, member, value)"),
    audiences: z
      .array(z.string().min(1).max(500))
      .default([])
      .describe("When not empty, the response's `aud` must name at least one of these"),
    cacheTtlMs: z
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .default(60_000)
      .describe("How long an active result is reused; never past the token's `exp`. 0 asks the server every time"),
    cacheMaxEntries: z.number().int().min(1).max(1_000_000).default(10_000).describe("Most tokens cached; the oldest entry makes room"),
    timeoutMs: z.number().int().min(50).max(60_000).default(2_000).describe("Longest wait for the introspection endpoint; then the request gets 503"),
    connections: z.number().int().min(1).max(1_024).default(16).describe("Most connections open to the introspection endpoint"),
    realm: z.string().regex(realmPattern, "use 1-100 printable ASCII characters other than '\"' and '\\'").default("tollgate").describe("The realm named in WWW-Authenticate"),
    allowInsecureHttp: z
      .boolean()
      .default(false)
      .describe("Allow a plain-http endpoint on a non-loopback host; tokens and the client secret would then cross the network in clear"),
  })
  .refine((config) => config.allowInsecureHttp || isHttpsOrLoopback(config.endpoint), {
    message: "endpoint must use https (plain http is accepted for loopback hosts, or with allowInsecureHttp: true)",
    path: ["endpoint"],
  });

export type IntrospectionPolicyConfig = z.infer<typeof IntrospectionPolicyConfig>;

function isHttpsOrLoopback(url: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === "https:" || loopbackHosts.has(parsed.hostname) || parsed.hostname.startsWith("127.");
}

/** `auth: [{ type: introspection, ... }]` on a route. */
export const IntrospectionAuthenticatorConfig = IntrospectionPolicyConfig.safeExtend({
  type: z.literal("introspection").describe("Authenticates with an opaque Bearer token checked at the authorization server (RFC 7662)"),
  hideCredential: z
    .boolean()
    .default(true)
    .describe("Remove the Authorization header before forwarding: the upstream learns who called from X-Consumer-Id, and never sees the credential"),
});

export type IntrospectionAuthenticatorConfig = z.infer<typeof IntrospectionAuthenticatorConfig>;
