import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { systemClock, type Clock } from "../../clock.js";
import type { JwtIssuerConfig, JwtPolicyConfig } from "./jwt-policy-config.js";
import { readBearerToken } from "./read-bearer-token.js";

/** Who a token belongs to, as the control plane mapped it (JwtIdentityMapped). */
export interface JwtIdentity {
  consumerId: string;
  credentialId: string;
}

/**
 * The identity index, as far as this policy needs it. Implemented over the
 * control plane's JWT identity mappings: a mapping of kind `subject` is looked up
 * with claim `sub`, a mapping of kind `claim` with its claim name. Must answer from
 * memory (it is called on the request path).
 */
export interface JwtIdentityLookup {
  findIdentity(issuer: string, claim: string, value: string): JwtIdentity | undefined;
}

export interface JwtVerifierDependencies {
  identities: JwtIdentityLookup;
  /** Time for `exp`/`nbf` checks; the system clock by default. */
  clock?: Pick<Clock, "epochMs">;
}

export interface JwtAccepted {
  ok: true;
  consumerId: string;
  credentialId: string;
  issuer: string;
  subject: string | undefined;
  /** From `scope` (space-separated) and `scp` (array or space-separated), de-duplicated. */
  scopes: readonly string[];
  /** The token's `exp` in epoch milliseconds, when it has one. */
  expiresAt: number | undefined;
}

export interface JwtRefused {
  ok: false;
  /** 401: no usable token; 503: the issuer's JWKS could not be fetched (fail closed). */
  status: 401 | 503;
  /** False when the request carried no credential of this kind, so a route with several authenticators may try the next. */
  presented: boolean;
  /** For the RequestRejected event and the problem detail; never contains the token. */
  reason: string;
  /** Set on 401 (RFC 6750 3). */
  wwwAuthenticate?: string;
}

export type JwtResult = JwtAccepted | JwtRefused;

export interface JwtVerifier {
  /** `atMs`: the instant expiries are judged at (the request's arrival, epoch ms); the clock's now by default. */
  verify(authorization: string | undefined, atMs?: number): Promise<JwtResult>;
  /** Fetches every issuer's key set now (for readiness); resolves to the issuers whose fetch failed. */
  prefetch(): Promise<string[]>;
}

/** Thrown by the key resolver when the JWKS could not be had, as opposed to a token that matches no key. */
class JwksUnavailableError extends Error {
  constructor(cause: unknown) {
    super("JWKS unavailable", { cause });
    this.name = "JwksUnavailableError";
  }
}

interface TrustedIssuer {
  config: JwtIssuerConfig;
  remote: ReturnType<typeof createRemoteJWKSet>;
  getKey: JWTVerifyGetKey;
}

/**
 * Bearer JWTs verified against each trusted issuer's JWKS (jose). The issuer is
 * chosen by the token's unverified `iss`, then everything is verified against that
 * issuer only: signature with an allowed algorithm, `iss` exactly, `aud`, `exp` and
 * `nbf` with the configured skew. Only then is the identity looked up.
 *
 * Keys are cached per issuer for `jwks.cacheMaxAgeMs`; a token whose `kid` is not in
 * the cached set triggers one refetch (key rotation) unless a fetch happened within
 * `jwks.cooldownMs`. When the JWKS cannot be fetched the request is refused with 503:
 * the gateway never accepts a token it could not verify.
 */
export function createJwtVerifier(config: JwtPolicyConfig, dependencies: JwtVerifierDependencies): JwtVerifier {
  const clock = dependencies.clock ?? systemClock;
  const challenge = `Bearer realm="${config.realm}"`;
  const invalidToken = (reason: string): JwtRefused => ({ ok: false, status: 401, presented: true, reason, wwwAuthenticate: `${challenge}, error="invalid_token"` });
  const issuers = new Map<string, TrustedIssuer>();
  for (const issuer of config.issuers) {
    const remote = createRemoteJWKSet(new URL(issuer.jwksUrl), {
      cacheMaxAge: config.jwks.cacheMaxAgeMs,
      cooldownDuration: config.jwks.cooldownMs,
      timeoutDuration: config.jwks.timeoutMs,
    });
    const getKey: JWTVerifyGetKey = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys || error instanceof errors.JOSENotSupported) throw error;
        throw new JwksUnavailableError(error);
      }
    };
    issuers.set(issuer.issuer, { config: issuer, remote, getKey });
  }

  async function verify(authorization: string | undefined, atMs: number = clock.epochMs()): Promise<JwtResult> {
    const bearer = readBearerToken(authorization);
    if (bearer.kind === "missing") return { ok: false, status: 401, presented: false, reason: "no bearer token", wwwAuthenticate: challenge };
    if (bearer.kind === "malformed") return invalidToken("malformed bearer token");

    let claimedIssuer: string | undefined;
    try {
      claimedIssuer = decodeJwt(bearer.token).iss;
    } catch {
      return invalidToken("malformed token");
    }
    if (claimedIssuer === undefined) return invalidToken("token has no issuer");
    const trusted = issuers.get(claimedIssuer);
    if (trusted === undefined) return invalidToken("token issuer is not trusted");

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(bearer.token, trusted.getKey, {
        issuer: trusted.config.issuer,
        audience: trusted.config.audiences,
        algorithms: trusted.config.algorithms,
        clockTolerance: config.clockSkewSeconds,
        currentDate: new Date(atMs),
        requiredClaims: config.requireExpiry ? ["exp"] : [],
      }));
    } catch (error) {
      if (error instanceof JwksUnavailableError) return { ok: false, status: 503, presented: true, reason: "the issuer's key set (JWKS) could not be fetched" };
      return invalidToken(refusalReason(error));
    }

    const identity = findIdentity(dependencies.identities, trusted.config.issuer, config.identityClaims, payload);
    if (identity === undefined) return invalidToken("token identity is not mapped to a consumer");
    return {
      ok: true,
      consumerId: identity.consumerId,
      credentialId: identity.credentialId,
      issuer: trusted.config.issuer,
      subject: payload.sub,
      scopes: scopesOf(payload),
      expiresAt: payload.exp === undefined ? undefined : payload.exp * 1000,
    };
  }

  async function prefetch(): Promise<string[]> {
    const outcomes = await Promise.allSettled([...issuers.values()].map((issuer) => issuer.remote.reload()));
    return [...issuers.keys()].filter((_, index) => outcomes[index]?.status === "rejected");
  }

  return { verify, prefetch };
}

function findIdentity(lookup: JwtIdentityLookup, issuer: string, claims: readonly string[], payload: JWTPayload): JwtIdentity | undefined {
  for (const claim of claims) {
    const value = payload[claim];
    if (typeof value !== "string" && typeof value !== "number") continue;
    const identity = lookup.findIdentity(issuer, claim, String(value));
    if (identity !== undefined) return identity;
  }
  return undefined;
}

/** `scope` is RFC 8693's space-separated string; `scp` is the array (or string) some issuers use instead. */
function scopesOf(payload: JWTPayload): string[] {
  const scopes = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === "string") for (const scope of value.split(" ")) if (scope !== "") scopes.add(scope);
    if (Array.isArray(value)) for (const scope of value) if (typeof scope === "string" && scope !== "") scopes.add(scope);
  };
  add(payload.scope);
  add(payload["scp"]);
  return [...scopes];
}

/** A short, token-free reason for the event. jose's messages name claims, never values. */
function refusalReason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "token expired";
  // jose's message says what failed ('unexpected "aud" claim value') and never quotes a value.
  if (error instanceof errors.JWTClaimValidationFailed) return `claim "${error.claim}" refused: ${error.message}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "token algorithm not allowed";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "token signature invalid";
  if (error instanceof errors.JWKSNoMatchingKey) return "no key in the issuer's key set matches the token";
  if (error instanceof errors.JWKSMultipleMatchingKeys) return "several keys match the token and none verifies it";
  if (error instanceof errors.JOSENotSupported) return "token algorithm or header not supported";
  return "malformed token";
}
