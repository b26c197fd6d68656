import { createHash } from "node:crypto";
import { Pool } from "undici";
import { z } from "zod";
import { systemClock, type Clock } from "../../clock.js";
import { readBearerToken } from "../jwt/read-bearer-token.js";
import type { IntrospectionPolicyConfig } from "./introspection-policy-config.js";

/** Who a token belongs to, as the control plane mapped it (the same mappings as JWT identities). */
export interface IntrospectionIdentity {
  consumerId: string;
  credentialId: string;
}

/**
 * The identity index, as far as this policy needs it: (issuer, claim, value) →
 * identity, answered from memory. The same shape as the JWT policy's lookup, so one
 * index serves both.
 */
export interface IntrospectionIdentityLookup {
  findIdentity(issuer: string, claim: string, value: string): IntrospectionIdentity | undefined;
}

export interface IntrospectionVerifierDependencies {
  identities: IntrospectionIdentityLookup;
  /** Time for cache expiry and `exp`; the system clock by default. */
  clock?: Pick<Clock, "epochMs">;
}

export interface IntrospectionAccepted {
  ok: true;
  consumerId: string;
  credentialId: string;
  clientId: string | undefined;
  subject: string | undefined;
  scopes: readonly string[];
  /** The token's `exp` in epoch milliseconds, when the server gave one. */
  expiresAt: number | undefined;
  /** True when answered from the cache, without asking the server. */
  cached: boolean;
}

export interface IntrospectionRefused {
  ok: false;
  /** 401: no token, or the server says it is not active; 503: the server could not be asked (fail closed). */
  status: 401 | 503;
  /** False when the request carried no credential of this kind, so a route with several authenticators may try the next. */
  presented: boolean;
  /** Never contains the token or the client secret. */
  reason: string;
  wwwAuthenticate?: string;
}

export type IntrospectionResult = IntrospectionAccepted | IntrospectionRefused;

export interface IntrospectionVerifier {
  /** Synchronous when the answer is known from memory (no token, a cached result); a Promise when the server is asked. */
  /** `atMs`: the instant expiries are judged at (the request's arrival, epoch ms); the clock's now by default. */
  verify(authorization: string | undefined, atMs?: number): IntrospectionResult | Promise<IntrospectionResult>;
  /** Closes the connections to the introspection endpoint. */
  close(): Promise<void>;
}

/** The members of an RFC 7662 2.2 response this policy reads; others are kept for identity claims. */
const IntrospectionResponse = z.looseObject({
  active: z.boolean(),
  scope: z.string().optional(),
  client_id: z.string().optional(),
  sub: z.string().optional(),
  exp: z.number().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
});

type IntrospectionResponse = z.infer<typeof IntrospectionResponse>;

type Lookup = { kind: "answered"; response: IntrospectionResponse } | { kind: "unavailable"; reason: string };

interface CacheEntry {
  response: IntrospectionResponse;
  expiresAt: number;
}

/** A response larger than this is not an introspection response; refusing it bounds memory. */
const maxResponseBytes = 64 * 1024;

/**
 * OAuth 2.0 token introspection (RFC 7662) for opaque bearer tokens. The gateway
 * POSTs `token=…` to the endpoint with its own client credentials and believes the
 * answer.
 *
 * Active results are cached under the token's SHA-256 (the token itself is not kept)
 * until min(now + cacheTtlMs, exp): a cached answer never outlives the token.
 * Inactive results are not cached, so a token is never refused from memory. The
 * identity mapping is applied on every request, cached or not, so an unmapped
 * consumer loses access at once. Concurrent requests with the same uncached token
 * share one call to the server.
 *
 * When the server cannot be asked (down, slow, an error status, an unreadable
 * answer) the request is refused with 503: an unverified token is never accepted.
 */
export function createIntrospectionVerifier(config: IntrospectionPolicyConfig, dependencies: IntrospectionVerifierDependencies): IntrospectionVerifier {
  const clock = dependencies.clock ?? systemClock;
  const endpoint = new URL(config.endpoint);
  const pool = new Pool(endpoint.origin, {
    connections: config.connections,
    connectTimeout: config.timeoutMs,
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
  });
  const clientAuthorization = `Basic ${Buffer.from(`${formEncode(config.clientId)}:${formEncode(config.clientSecret)}`).toString("base64")}`;
  const challenge = `Bearer realm="${config.realm}"`;
  const cache = new Map<string, CacheEntry>();
  const pending = new Map<string, Promise<Lookup>>();

  function verify(authorization: string | undefined, atMs: number = clock.epochMs()): IntrospectionResult | Promise<IntrospectionResult> {
    const bearer = readBearerToken(authorization);
    if (bearer.kind === "missing") return { ok: false, status: 401, presented: false, reason: "no bearer token", wwwAuthenticate: challenge };
    if (bearer.kind === "malformed") return invalidToken("malformed bearer token");

    const key = createHash("sha256").update(bearer.token).digest("base64url");
    const entry = cache.get(key);
    if (entry !== undefined) {
      if (entry.expiresAt > atMs) return decide(entry.response, true, atMs);
      cache.delete(key);
    }
    return lookupOnce(key, bearer.token).then((lookup) => {
      if (lookup.kind === "unavailable") return { ok: false, status: 503, presented: true, reason: lookup.reason } satisfies IntrospectionRefused;
      return decide(lookup.response, false, atMs);
    });
  }

  function lookupOnce(key: string, token: string): Promise<Lookup> {
    const inFlight = pending.get(key);
    if (inFlight !== undefined) return inFlight;
    const lookup = introspect(token)
      .then((answer) => {
        if (answer.kind === "answered") remember(key, answer.response);
        return answer;
      })
      .finally(() => pending.delete(key));
    pending.set(key, lookup);
    return lookup;
  }

  async function introspect(token: string): Promise<Lookup> {
    try {
      const response = await pool.request({
        method: "POST",
        path: `${endpoint.pathname}${endpoint.search}`,
        headers: {
          authorization: clientAuthorization,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: new URLSearchParams({ token, token_type_hint: "access_token" }).toString(),
        signal: AbortSignal.timeout(config.timeoutMs),
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        return { kind: "unavailable", reason: `token introspection failed: the endpoint answered ${response.statusCode}` };
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxResponseBytes) {
          response.body.destroy();
          return { kind: "unavailable", reason: "token introspection failed: the response is too large" };
        }
        chunks.push(chunk);
      }
      const parsed = IntrospectionResponse.safeParse(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      if (!parsed.success) return { kind: "unavailable", reason: "token introspection failed: the response is not an introspection response" };
      return { kind: "answered", response: parsed.data };
    } catch (error) {
      if (error instanceof SyntaxError) return { kind: "unavailable", reason: "token introspection failed: the response is not JSON" };
      const timedOut = error instanceof Error && (error.name === "TimeoutError" || /Timeout/.test(error.name));
      return { kind: "unavailable", reason: timedOut ? "token introspection failed: the endpoint timed out" : "token introspection failed: the endpoint is unreachable" };
    }
  }

  /** The cache entry lives until the configured TTL or the token's exp, whichever comes first. */
  function remember(key: string, response: IntrospectionResponse): void {
    if (!response.active || config.cacheTtlMs === 0) return;
    const now = clock.epochMs();
    const expiresAt = Math.min(now + config.cacheTtlMs, response.exp === undefined ? Infinity : response.exp * 1000);
    if (expiresAt <= now) return;
    if (cache.size >= config.cacheMaxEntries) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(key, { response, expiresAt });
  }

  function decide(response: IntrospectionResponse, cached: boolean, atMs: number): IntrospectionResult {
    if (!response.active) return invalidToken("token is not active");
    if (response.exp !== undefined && response.exp * 1000 <= atMs) return invalidToken("token expired");
    if (config.audiences.length > 0 && !audiencesOf(response).some((audience) => config.audiences.includes(audience))) {
      return invalidToken("token audience not accepted");
    }
    const identity = findIdentity(response);
    if (identity === undefined) return invalidToken("token identity is not mapped to a consumer");
    return {
      ok: true,
      consumerId: identity.consumerId,
      credentialId: identity.credentialId,
      clientId: response.client_id,
      subject: response.sub,
      scopes: response.scope === undefined ? [] : [...new Set(response.scope.split(" ").filter((scope) => scope !== ""))],
      expiresAt: response.exp === undefined ? undefined : response.exp * 1000,
      cached,
    };
  }

  function findIdentity(response: IntrospectionResponse): IntrospectionIdentity | undefined {
    for (const claim of config.identityClaims) {
      const value = response[claim];
      if (typeof value !== "string" && typeof value !== "number") continue;
      const identity = dependencies.identities.findIdentity(config.issuer, claim, String(value));
      if (identity !== undefined) return identity;
    }
    return undefined;
  }

  function invalidToken(reason: string): IntrospectionRefused {
    return { ok: false, status: 401, presented: true, reason, wwwAuthenticate: `${challenge}, error="invalid_token"` };
  }

  return { verify, close: () => pool.close() };
}

function audiencesOf(response: IntrospectionResponse): string[] {
  if (response.aud === undefined) return [];
  return typeof response.aud === "string" ? [response.aud] : response.aud;
}

/** application/x-www-form-urlencoded, as RFC 6749 2.3.1 requires for client credentials in Basic. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
