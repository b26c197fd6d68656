import { z } from "zod";

/**
 * Signature algorithms a JWKS-verified token may use. Only asymmetric ones: a JWKS
 * publishes public keys, and accepting an HMAC algorithm (HS256…) is exactly what
 * lets an attacker sign a token with the public key's bytes (RS/HS confusion). `none`
 * is not an algorithm at all. Neither can be configured.
 */
export const jwtAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"] as const;

export type JwtAlgorithm = (typeof jwtAlgorithms)[number];

/** Characters a realm may hold inside WWW-Authenticate's quoted string without escaping. */
const realmPattern = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,100}$/;

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]"]);

export const JwtIssuerConfig = z
  .strictObject({
    issuer: z.string().min(1).max(500).describe("Required. The `iss` claim, exactly as this issuer writes it"),
    jwksUrl: z
      .url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" })
      .describe("Required. Where the issuer publishes its signing keys (JWKS); https unless loopback or allowInsecureHttp"),
    audiences: z
      .array(z.string().min(1).max(500))
      .min(1)
      .describe("Required. Accepted `aud` values; a token must name at least one of them"),
    algorithms: z
      .array(z.enum(jwtAlgorithms))
      .min(1)
      .default(["RS256"])
      .describe("Accepted signature algorithms (asymmetric only; `none` and HS* cannot be configured)"),
    allowInsecureHttp: z
      .boolean()
      .default(false)
      .describe("Allow a plain-http jwksUrl on a non-loopback host; anyone on the path could then substitute keys"),
  })
  .refine((issuer) => issuer.allowInsecureHttp || isHttpsOrLoopback(issuer.jwksUrl), {
    message: "jwksUrl must use https (plain http is accepted for loopback hosts, or with allowInsecureHttp: true)",
    path: ["jwksUrl"],
  });

export const JwksCacheConfig = z.strictObject({
  cacheMaxAgeMs: z
    .number()
    .int()
    .min(1_000)
    .max(86_400_000)
    .default(600_000)
    .describe("How long a fetched key set is used before it is fetched again"),
  cooldownMs: z
    .number()
    .int()
    .min(0)
    .max(600_000)
    .default(30_000)
    .describe("After a fetch, how long a token with an unknown `kid` is refused without fetching again (shields the JWKS server from floods of made-up kids)"),
  timeoutMs: z.number().int().min(100).max(60_000).default(5_000).describe("Longest wait for the JWKS server; then the request gets 503"),
});

export const JwtPolicyConfig = z
  .strictObject({
    issuers: z.array(JwtIssuerConfig).min(1).describe("Required. The issuers whose tokens are accepted, each with its JWKS"),
    clockSkewSeconds: z
      .number()
      .int()
      .min(0)
      .max(300)
      .default(30)
      .describe("Tolerance applied to `exp` and `nbf` for clocks that disagree"),
    requireExpiry: z.boolean().default(true).describe("Refuse tokens without an `exp` claim (they would never expire)"),
    identityClaims: z
      .array(z.string().min(1).max(100))
      .min(1)
      .default(["sub"])
      .describe("Claims tried in order to find the consumer: each is looked up as (issuer, claim, value); `sub` is the subject mapping"),
    realm: z.string().regex(realmPattern, "use 1-100 printable ASCII characters other than '\"' and '\\'").default("tollgate").describe("The realm named in WWW-Authenticate"),
    jwks: JwksCacheConfig.prefault({}).describe("How key sets are fetched and cached"),
  })
  .refine((config) => new Set(config.issuers.map((issuer) => issuer.issuer)).size === config.issuers.length, {
    message: "each issuer may be listed once",
    path: ["issuers"],
  });

export type JwtIssuerConfig = z.infer<typeof JwtIssuerConfig>;
export type JwksCacheConfig = z.infer<typeof JwksCacheConfig>;
export type JwtPolicyConfig = z.infer<typeof JwtPolicyConfig>;

function isHttpsOrLoopback(url: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === "https:" || loopbackHosts.has(parsed.hostname) || parsed.hostname.startsWith("127.");
}

/**
 * `auth: [{ type: jwt, ... }]` on a route: the policy's config plus its type and
 * what happens to the token once it was checked.
 */
export const JwtAuthenticatorConfig = JwtPolicyConfig.safeExtend({
  type: z.literal("jwt").describe("Authenticates with a Bearer JWT verified against its issuer's JWKS"),
  hideCredential: z
    .boolean()
    .default(true)
    .describe("Remove the Authorization header before forwarding: the upstream learns who called from X-Consumer-Id, and never sees the credential"),
});

export type JwtAuthenticatorConfig = z.infer<typeof JwtAuthenticatorConfig>;
