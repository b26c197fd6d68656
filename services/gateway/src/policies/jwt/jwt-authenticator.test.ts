import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakePolicyExchange } from "../../test-support/fake-policy-exchange.js";
import { AuthRefusal, noCredential, type Authenticator } from "../authenticator.js";
import { createJwtAuthenticator } from "./jwt-authenticator.js";
import { JwtAuthenticatorConfig } from "./jwt-policy-config.js";

const receivedAtMs = Date.parse("2026-11-26T10:00:00Z");

describe("jwt authenticator (the verifier wired to the request)", () => {
  let server: Server;
  let privateKey: CryptoKey;
  let jwksUrl = "";
  const issuer = "https://idp.test/";

  const authenticator = (extra: Record<string, unknown> = {}): Authenticator =>
    createJwtAuthenticator(JwtAuthenticatorConfig.parse({ type: "jwt", issuers: [{ issuer, jwksUrl, audiences: ["orders"] }], ...extra }), {
      identities: { findIdentity: (iss, claim, value) => (iss === issuer && claim === "sub" && value === "u1" ? { consumerId: "acme", credentialId: "jwt-1" } : undefined) },
    });
  const token = (): Promise<string> =>
    new SignJWT({ scope: "orders:read" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(issuer)
      .setSubject("u1")
      .setAudience("orders")
      .setExpirationTime(Math.floor(receivedAtMs / 1000) + 60)
      .sign(privateKey);

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256");
    privateKey = pair.privateKey;
    const body = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256" }] });
    server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(body));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });

  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("accepts a valid token with its scopes, and removes it from what is forwarded unless hideCredential is false", async () => {
    const bearer = `Bearer ${await token()}`;
    const hidden = fakePolicyExchange({ headers: ["Authorization", bearer], receivedAtMs });
    expect(await authenticator().authenticate(hidden)).toEqual({ consumerId: "acme", credentialId: "jwt-1", scopes: ["orders:read"] });
    expect(hidden.headers).toEqual([]);
    const kept = fakePolicyExchange({ headers: ["Authorization", bearer], receivedAtMs });
    expect(await authenticator({ hideCredential: false }).authenticate(kept)).toMatchObject({ consumerId: "acme" });
    expect(kept.headers).toEqual(["Authorization", bearer]);
  });

  it("leaves requests without a bearer token to the route's other authenticators; refuses two Authorization headers", async () => {
    expect(await authenticator().authenticate(fakePolicyExchange({ headers: ["x-api-key", "tg_x"], receivedAtMs }))).toBe(noCredential);
    const twice = await authenticator().authenticate(fakePolicyExchange({ headers: ["authorization", "Bearer a", "authorization", "Bearer b"], receivedAtMs }));
    expect(twice).toBeInstanceOf(AuthRefusal);
    expect(twice).toMatchObject({ status: 401, reason: "more than one Authorization header" });
  });

  it("drops the token of a request another authenticator accepted first (discardCredential)", () => {
    const exchange = fakePolicyExchange({ headers: ["authorization", "Bearer abc", "accept", "*/*"] });
    authenticator().discardCredential?.(exchange);
    expect(exchange.headers).toEqual(["accept", "*/*"]);
  });
});
