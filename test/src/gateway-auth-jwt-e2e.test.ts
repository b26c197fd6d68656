import { createHmac, createSign, generateKeyPairSync, type KeyObject } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestEvents, startAuthStack, subscribedConsumer, type AuthStack } from "./support/auth-e2e-stack.js";
import { waitFor } from "./support/wait-for.js";

const b64url = (value: Buffer | string): string => Buffer.from(value).toString("base64url");

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function rsaKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

function jwkOf(key: SigningKey): Record<string, unknown> {
  return { ...key.publicKey.export({ format: "jwk" }), kid: key.kid, alg: "RS256", use: "sig" };
}

/** A compact JWS, signed with node:crypto so that the test shares no code with the gateway's verifier (jose). */
function rs256(key: SigningKey, payload: Record<string, unknown>): string {
  const signingInput = `${b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: key.kid }))}.${b64url(JSON.stringify(payload))}`;
  return `${signingInput}.${b64url(createSign("RSA-SHA256").update(signingInput).sign(key.privateKey))}`;
}

describe("JWT bearer authentication at the gateway, against a local JWKS server (real processes)", () => {
  let jwks: Server;
  let jwksUrl = "";
  let issuer = "";
  let published: SigningKey[] = [];
  let jwksFetches = 0;
  let stack: AuthStack;
  const first = rsaKey("k1");
  const second = rsaKey("k2");
  const tokens: string[] = [];
  let sent = 0;
  const nowSeconds = (): number => Math.floor(Date.now() / 1000);
  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: issuer,
    sub: "user-1",
    aud: "orders-api",
    iat: nowSeconds(),
    exp: nowSeconds() + 300,
    scope: "orders:read",
    ...extra,
  });

  const call = async (token: string | null): Promise<{ status: number; headers: Headers; body: Record<string, unknown> | string }> => {
    sent += 1;
    if (token !== null) tokens.push(token);
    const response = await fetch(`${stack.gateway.url}/orders/1`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: response.headers.get("content-type") === "application/problem+json" ? (JSON.parse(text) as Record<string, unknown>) : text };
  };

  beforeAll(async () => {
    published = [first];
    jwks = createServer((request, response) => {
      jwksFetches += 1;
      const body = JSON.stringify({ keys: published.map(jwkOf) });
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      response.end(body);
    });
    jwks.listen(0, "127.0.0.1");
    await once(jwks, "listening");
    const origin = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
    jwksUrl = `${origin}/.well-known/jwks.json`;
    issuer = `${origin}/`;
    stack = await startAuthStack({
      gatewayConfig: (upstreamUrl) => ({
        upstreams: { api: { targets: [upstreamUrl] } },
        routes: [
          {
            id: "orders",
            match: { pathPrefix: "/orders" },
            upstream: "api",
            auth: [{ type: "jwt", issuers: [{ issuer, jwksUrl, audiences: ["orders-api"] }], clockSkewSeconds: 5, jwks: { cooldownMs: 0 } }],
            authorization: { scopes: ["orders:read"] },
          },
        ],
      }),
    });
    await subscribedConsumer(stack, "acme", ["orders"], ["orders:read"]);
    await subscribedConsumer(stack, "globex", ["orders"], ["orders:read"]);
    expect((await stack.admin("POST", "/admin/consumers/acme/jwt-identities", { id: "acme-jwt", issuer, match: { kind: "subject", subject: "user-1" } })).status).toBe(201);
    expect((await stack.admin("POST", "/admin/consumers/globex/jwt-identities", { id: "globex-jwt", issuer, match: { kind: "subject", subject: "user-2" } })).status).toBe(201);
  });

  afterAll(async () => {
    await stack?.cleanup();
    jwks?.closeAllConnections();
    jwks?.close();
  });

  it("admits a valid token once the mapping reached the gateway, tells the upstream who called and drops the token", async () => {
    const token = rs256(first, claims());
    await waitFor("the JWT mapping to reach the gateway", async () => (await call(token)).status === 200, 5_000, 10);
    const before = stack.seen.length;
    expect((await call(token)).status).toBe(200);
    expect(stack.seen[before]?.headers).toMatchObject({ "x-consumer-id": "acme", "x-plan-id": "acme-plan" });
    expect(stack.seen[before]?.headers.authorization).toBeUndefined();
  });

  it("fetches the key set again for a new kid (key rotation), and refuses the retired key after that", async () => {
    const fetchesBefore = jwksFetches;
    published = [second];
    const rotated = await call(rs256(second, claims()));
    expect(rotated.status).toBe(200);
    expect(jwksFetches).toBe(fetchesBefore + 1);
    const retired = await call(rs256(first, claims()));
    expect(retired.status).toBe(401);
    expect(retired.body).toMatchObject({ code: "unauthorized", detail: "no key in the issuer's key set matches the token" });
  });

  it("refuses expired tokens, a wrong audience, alg none, HS256 signed with the RSA public key and a tampered payload, each with 401 and a challenge", async () => {
    const header = (alg: string): string => b64url(JSON.stringify({ alg, typ: "JWT", kid: second.kid }));
    const unsigned = `${header("none")}.${b64url(JSON.stringify(claims()))}.`;
    const publicPem = second.publicKey.export({ type: "spki", format: "pem" });
    const hsInput = `${header("HS256")}.${b64url(JSON.stringify(claims()))}`;
    const confused = `${hsInput}.${b64url(createHmac("sha256", publicPem).update(hsInput).digest())}`;
    const [signedHeader, , signature] = rs256(second, claims()).split(".");
    const tampered = `${signedHeader}.${b64url(JSON.stringify(claims({ sub: "user-2" })))}.${signature}`;

    const cases: [string, string, string][] = [
      ["expired", rs256(second, claims({ exp: nowSeconds() - 60 })), "token expired"],
      ["wrong aud", rs256(second, claims({ aud: "billing-api" })), 'claim "aud" refused: unexpected "aud" claim value'],
      ["alg none", unsigned, "token algorithm not allowed"],
      ["HS256 with the RSA public key", confused, "token algorithm not allowed"],
      ["tampered payload", tampered, "token signature invalid"],
    ];
    for (const [what, token, reason] of cases) {
      const refused = await call(token);
      expect(refused.status, what).toBe(401);
      expect(refused.headers.get("content-type"), what).toBe("application/problem+json");
      expect(refused.headers.get("www-authenticate"), what).toBe('Bearer realm="tollgate", error="invalid_token"');
      expect(refused.body, what).toMatchObject({ code: "unauthorized", detail: reason });
    }
    const missing = await call(null);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="tollgate"');
  });

  it("answers 403 as problem+json when the token lacks the route's scope", async () => {
    const forbidden = await call(rs256(second, claims({ scope: "orders:write" })));
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get("content-type")).toBe("application/problem+json");
    expect(forbidden.body).toMatchObject({ code: "forbidden" });
  });

  it("records every refusal as RequestRejected with stage and reason, and no token anywhere", async () => {
    const events = await requestEvents(stack.eventsFile, sent);
    expect(events).toHaveLength(sent);
    const rejected = events.filter((event) => event.type === "RequestRejected");
    expect(rejected.map((event) => [event.data.stage, event.data.reason])).toEqual(
      expect.arrayContaining([
        ["auth", "token expired"],
        ["auth", 'claim "aud" refused: unexpected "aud" claim value'],
        ["auth", "token algorithm not allowed"],
        ["auth", "token signature invalid"],
        ["auth", "no key in the issuer's key set matches the token"],
        ["auth", "no credentials in the request"],
        ["authz", expect.stringContaining("lacks a required scope")],
      ]),
    );
    expect(events.filter((event) => event.type === "RequestCompleted").every((event) => event.data.consumerId === "acme")).toBe(true);

    const { exitCodes, found } = await stack.stopAndFindSecrets(tokens);
    expect(exitCodes).toEqual([0, 0]);
    expect(found.map((token) => `${token.slice(0, 12)}…`)).toEqual([]);
    expect(stack.gateway.lines.filter((line) => line.includes('"component":"access"'))).toHaveLength(sent);
  });
});
