import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { JwtPolicyConfig } from "./jwt-policy-config.js";
import { createJwtVerifier, type JwtIdentity, type JwtVerifier } from "./jwt-verifier.js";

const issuer = "https://issuer.example";
const audience = "https://api.example";
const start = 1_700_000_000_000;

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

/** A real JWKS endpoint on an ephemeral port; the key set it serves can be swapped (rotation). */
interface JwksServer {
  url: string;
  keys: JWK[];
  requests: number;
  close(): Promise<void>;
}

async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state = { keys, requests: 0 };
  const server: Server = createServer((_req, res) => {
    state.requests++;
    const body = JSON.stringify({ keys: state.keys });
    res.writeHead(200, { "content-type": "application/jwk-set+json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get keys() {
      return state.keys;
    },
    set keys(next: JWK[]) {
      state.keys = next;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  return { kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("JWT bearer policy", () => {
  let keyA: SigningKey;
  let keyB: SigningKey;
  let jwks: JwksServer;
  let now: number;
  const clock = { epochMs: () => now };
  const mappings = new Map<string, JwtIdentity>([
    [`${issuer} sub user-1`, { consumerId: "acme", credentialId: "jwt-acme" }],
    [`${issuer} client_id svc-9`, { consumerId: "globex", credentialId: "jwt-globex" }],
  ]);
  const identities = { findIdentity: (iss: string, claim: string, value: string) => mappings.get(`${iss} ${claim} ${value}`) };

  function verifier(overrides: Record<string, unknown> = {}, jwksOverrides: Record<string, unknown> = {}): JwtVerifier {
    const config = JwtPolicyConfig.parse({
      issuers: [{ issuer, jwksUrl: jwks.url, audiences: [audience] }],
      jwks: jwksOverrides,
      ...overrides,
    });
    return createJwtVerifier(config, { identities, clock });
  }

  function token(key: SigningKey, claims: JWTPayload = {}, options: { expiresInSeconds?: number } = {}): Promise<string> {
    const nowSeconds = Math.floor(now / 1000);
    return new SignJWT({ scope: "orders:read orders:write", ...claims })
      .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" })
      .setIssuer(typeof claims.iss === "string" ? claims.iss : issuer)
      .setAudience(claims.aud ?? audience)
      .setSubject(claims.sub ?? "user-1")
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + (options.expiresInSeconds ?? 300))
      .sign(key.privateKey);
  }

  beforeAll(async () => {
    keyA = await signingKey("key-a");
    keyB = await signingKey("key-b");
  });

  beforeEach(async () => {
    now = start;
    jwks = await startJwksServer([keyA.jwk]);
  });

  afterEach(async () => {
    await jwks.close();
  });

  describe("happy", () => {
    it("accepts a valid token and maps issuer + subject to the consumer, with its scopes", async () => {
      const result = await verifier().verify(`Bearer ${await token(keyA)}`);
      expect(result).toEqual({
        ok: true,
        consumerId: "acme",
        credentialId: "jwt-acme",
        issuer,
        subject: "user-1",
        scopes: ["orders:read", "orders:write"],
        expiresAt: (Math.floor(start / 1000) + 300) * 1000,
      });
    });

    it("caches the key set: many tokens, one JWKS fetch", async () => {
      const policy = verifier();
      for (let index = 0; index < 5; index++) expect((await policy.verify(`Bearer ${await token(keyA)}`)).ok).toBe(true);
      expect(jwks.requests).toBe(1);
    });

    it("reads scopes from `scp` too, and maps a configured claim", async () => {
      const policy = verifier({ identityClaims: ["sub", "client_id"] });
      const result = await policy.verify(`bearer ${await token(keyA, { sub: "unmapped", client_id: "svc-9", scope: undefined, scp: ["a", "b", "a"] })}`);
      expect(result).toMatchObject({ ok: true, consumerId: "globex", scopes: ["a", "b"] });
    });

    it("follows key rotation: a token with a new kid triggers one refetch and verifies", async () => {
      const policy = verifier({}, { cooldownMs: 0 });
      expect((await policy.verify(`Bearer ${await token(keyA)}`)).ok).toBe(true);
      jwks.keys = [keyB.jwk];
      expect(await policy.verify(`Bearer ${await token(keyB)}`)).toMatchObject({ ok: true, consumerId: "acme" });
      expect(jwks.requests).toBe(2);
    });

    it("accepts a token expired by less than the clock skew", async () => {
      const signed = await token(keyA, {}, { expiresInSeconds: 60 });
      now = start + 60_000 + 29_000;
      expect((await verifier({ clockSkewSeconds: 30 }).verify(`Bearer ${signed}`)).ok).toBe(true);
    });

    it("prefetch loads every issuer's keys and names the ones that failed", async () => {
      const policy = verifier();
      expect(await policy.prefetch()).toEqual([]);
      expect(jwks.requests).toBe(1);
    });
  });

  describe("error", () => {
    it("asks for a token when there is none (no error code, RFC 6750 3.1)", async () => {
      for (const header of [undefined, "", "Basic dXNlcjpwYXNz"]) {
        expect(await verifier().verify(header)).toEqual({ ok: false, status: 401, presented: false, reason: "no bearer token", wwwAuthenticate: 'Bearer realm="tollgate"' });
      }
    });

    it("refuses an expired token", async () => {
      const signed = await token(keyA, {}, { expiresInSeconds: 60 });
      now = start + 60_000 + 31_000;
      expect(await verifier({ clockSkewSeconds: 30 }).verify(`Bearer ${signed}`)).toEqual({
        ok: false,
        status: 401,
        presented: true,
        reason: "token expired",
        wwwAuthenticate: 'Bearer realm="tollgate", error="invalid_token"',
      });
    });

    it("judges expiry at the instant given (the request's arrival), not at the clock's now", async () => {
      const signed = await token(keyA, {}, { expiresInSeconds: 60 });
      now = start + 600_000;
      expect(await verifier({ clockSkewSeconds: 0 }).verify(`Bearer ${signed}`, start + 59_000)).toMatchObject({ ok: true });
      expect(await verifier({ clockSkewSeconds: 0 }).verify(`Bearer ${signed}`)).toMatchObject({ ok: false, reason: "token expired" });
    });

    it("refuses a token that is not yet valid (nbf beyond the skew)", async () => {
      const signed = await token(keyA, { nbf: Math.floor(start / 1000) + 120 });
      expect(await verifier().verify(`Bearer ${signed}`)).toMatchObject({ ok: false, status: 401, reason: 'claim "nbf" refused: "nbf" claim timestamp check failed' });
    });

    it("refuses a token for another audience", async () => {
      const signed = await token(keyA, { aud: "https://other.example" });
      expect(await verifier().verify(`Bearer ${signed}`)).toMatchObject({ ok: false, status: 401, reason: 'claim "aud" refused: unexpected "aud" claim value' });
    });

    it("refuses a token without exp unless configured otherwise", async () => {
      const signed = await new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: keyA.kid }).setIssuer(issuer).setAudience(audience).setSubject("user-1").sign(keyA.privateKey);
      expect(await verifier().verify(`Bearer ${signed}`)).toMatchObject({ ok: false, status: 401, reason: 'claim "exp" refused: missing required "exp" claim' });
      expect(await verifier({ requireExpiry: false }).verify(`Bearer ${signed}`)).toMatchObject({ ok: true });
    });

    it("refuses a token whose identity is not mapped to a consumer", async () => {
      expect(await verifier().verify(`Bearer ${await token(keyA, { sub: "stranger" })}`)).toMatchObject({
        ok: false,
        status: 401,
        reason: "token identity is not mapped to a consumer",
      });
    });

    it("refuses a malformed header or token", async () => {
      expect(await verifier().verify("Bearer")).toMatchObject({ ok: false, status: 401, reason: "malformed bearer token" });
      expect(await verifier().verify("Bearer not a token")).toMatchObject({ ok: false, status: 401, reason: "malformed bearer token" });
      expect(await verifier().verify("Bearer abc.def.ghi")).toMatchObject({ ok: false, status: 401, reason: "malformed token" });
    });

    it("fails closed with 503 when the JWKS server is down", async () => {
      const policy = verifier();
      await jwks.close();
      const result = await policy.verify(`Bearer ${await token(keyA)}`);
      expect(result).toEqual({ ok: false, status: 503, presented: true, reason: "the issuer's key set (JWKS) could not be fetched" });
      expect(await policy.prefetch()).toEqual([issuer]);
    });
  });

  describe("security", () => {
    it("refuses alg none", async () => {
      const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ iss: issuer, aud: audience, sub: "user-1", exp: start / 1000 + 300 })}.`;
      expect(await verifier().verify(`Bearer ${unsigned}`)).toMatchObject({ ok: false, status: 401, reason: "token algorithm not allowed" });
      expect(jwks.requests).toBe(0);
    });

    it("refuses an HS256 token signed with the RSA public key's bytes (algorithm confusion)", async () => {
      const publicPem = await exportSPKI(keyA.publicKey);
      for (const secret of [publicPem, JSON.stringify(keyA.jwk)]) {
        const forged = await new SignJWT({ scope: "admin" })
          .setProtectedHeader({ alg: "HS256", kid: keyA.kid })
          .setIssuer(issuer)
          .setAudience(audience)
          .setSubject("user-1")
          .setExpirationTime(start / 1000 + 300)
          .sign(new TextEncoder().encode(secret));
        expect(await verifier().verify(`Bearer ${forged}`)).toMatchObject({ ok: false, status: 401, reason: "token algorithm not allowed" });
      }
    });

    it("cannot be configured to accept none or an HMAC algorithm", () => {
      for (const algorithm of ["none", "HS256", "HS512"]) {
        const parsed = JwtPolicyConfig.safeParse({ issuers: [{ issuer, jwksUrl: "https://issuer.example/jwks", audiences: [audience], algorithms: [algorithm] }] });
        expect(parsed.success).toBe(false);
      }
    });

    it("refuses a tampered payload", async () => {
      const [header, , signature] = (await token(keyA)).split(".");
      const forgedPayload = base64url({ iss: issuer, aud: audience, sub: "user-1", scope: "admin", exp: start / 1000 + 300 });
      expect(await verifier().verify(`Bearer ${header}.${forgedPayload}.${signature}`)).toMatchObject({ ok: false, status: 401, reason: "token signature invalid" });
    });

    it("refuses a token from an unknown issuer without contacting any JWKS", async () => {
      const rogue = await token(keyA, { iss: "https://rogue.example" });
      expect(await verifier().verify(`Bearer ${rogue}`)).toMatchObject({ ok: false, status: 401, reason: "token issuer is not trusted" });
      expect(jwks.requests).toBe(0);
    });

    it("refuses a token signed by a key that is not in the issuer's JWKS, refetching at most once per cooldown", async () => {
      const policy = verifier();
      expect((await policy.verify(`Bearer ${await token(keyA)}`)).ok).toBe(true);
      for (let index = 0; index < 3; index++) {
        expect(await policy.verify(`Bearer ${await token(keyB)}`)).toMatchObject({ ok: false, status: 401, reason: "no key in the issuer's key set matches the token" });
      }
      expect(jwks.requests).toBe(1);
    });

    it("refuses a plain-http JWKS URL on a non-loopback host unless explicitly allowed", () => {
      const entry = { issuer, jwksUrl: "http://keys.example/jwks", audiences: [audience] };
      expect(JwtPolicyConfig.safeParse({ issuers: [entry] }).success).toBe(false);
      expect(JwtPolicyConfig.safeParse({ issuers: [{ ...entry, allowInsecureHttp: true }] }).success).toBe(true);
    });
  });
});

describe("JwtPolicyConfig", () => {
  it("fills in defaults", () => {
    expect(JwtPolicyConfig.parse({ issuers: [{ issuer, jwksUrl: "https://issuer.example/jwks", audiences: [audience] }] })).toEqual({
      issuers: [{ issuer, jwksUrl: "https://issuer.example/jwks", audiences: [audience], algorithms: ["RS256"], allowInsecureHttp: false }],
      clockSkewSeconds: 30,
      requireExpiry: true,
      identityClaims: ["sub"],
      realm: "tollgate",
      jwks: { cacheMaxAgeMs: 600_000, cooldownMs: 30_000, timeoutMs: 5_000 },
    });
  });
});
