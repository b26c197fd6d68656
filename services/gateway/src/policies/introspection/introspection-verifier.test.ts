import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IntrospectionPolicyConfig } from "./introspection-policy-config.js";
import { createIntrospectionVerifier, type IntrospectionIdentity, type IntrospectionResult, type IntrospectionVerifier } from "./introspection-verifier.js";

const issuer = "https://as.example";
const clientId = "tollgate gateway";
const clientSecret = "s3cret:with/odd&chars";
const start = 1_700_000_000_000;

interface Call {
  authorization: string | undefined;
  contentType: string | undefined;
  token: string | null;
  hint: string | null;
}

/**
 * A real RFC 7662 endpoint on an ephemeral port. It authenticates the gateway with
 * HTTP Basic (form-encoded id and secret, RFC 6749 2.3.1) and answers from `tokens`.
 */
interface IntrospectionServer {
  url: string;
  tokens: Map<string, Record<string, unknown>>;
  calls: Call[];
  /** Replaces the normal handler (errors, silence). */
  override: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  close(): Promise<void>;
}

async function startIntrospectionServer(): Promise<IntrospectionServer> {
  const expected = `Basic ${Buffer.from(`${encodeURIComponent(clientId).replace(/%20/g, "+")}:${encodeURIComponent(clientSecret)}`).toString("base64")}`;
  const state: IntrospectionServer = {
    url: "",
    tokens: new Map(),
    calls: [],
    override: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer((req, res) => {
    if (state.override !== undefined) return state.override(req, res);
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      const token = form.get("token");
      state.calls.push({ authorization: req.headers.authorization, contentType: req.headers["content-type"], token, hint: form.get("token_type_hint") });
      if (req.method !== "POST" || req.headers.authorization !== expected) {
        res.writeHead(401, { "content-type": "application/json" }).end('{"error":"invalid_client"}');
        return;
      }
      const body = JSON.stringify((token !== null && state.tokens.get(token)) || { active: false });
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/introspect`;
  return state;
}

describe("OAuth token introspection policy", () => {
  let server: IntrospectionServer;
  let now: number;
  const verifiers: IntrospectionVerifier[] = [];
  const clock = { epochMs: () => now };
  const mappings = new Map<string, IntrospectionIdentity>([
    [`${issuer} client_id app-1`, { consumerId: "acme", credentialId: "oauth-acme" }],
    [`${issuer} sub alice`, { consumerId: "alice-co", credentialId: "oauth-alice" }],
  ]);
  const identities = { findIdentity: (iss: string, claim: string, value: string) => mappings.get(`${iss} ${claim} ${value}`) };

  function verifier(overrides: Record<string, unknown> = {}): IntrospectionVerifier {
    const config = IntrospectionPolicyConfig.parse({ endpoint: server.url, issuer, clientId, clientSecret, ...overrides });
    const created = createIntrospectionVerifier(config, { identities, clock });
    verifiers.push(created);
    return created;
  }

  const seconds = (ms: number): number => Math.floor(ms / 1000);

  beforeEach(async () => {
    now = start;
    server = await startIntrospectionServer();
    server.tokens.set("opaque-1", { active: true, client_id: "app-1", sub: "alice", scope: "orders:read orders:write", exp: seconds(start) + 30 });
  });

  afterEach(async () => {
    await Promise.all(verifiers.splice(0).map((created) => created.close()));
    await server.close();
  });

  describe("happy", () => {
    it("accepts an active token, maps client_id to the consumer and reads its scopes", async () => {
      const result = await verifier().verify("Bearer opaque-1");
      expect(result).toEqual({
        ok: true,
        consumerId: "acme",
        credentialId: "oauth-acme",
        clientId: "app-1",
        subject: "alice",
        scopes: ["orders:read", "orders:write"],
        expiresAt: (seconds(start) + 30) * 1000,
        cached: false,
      });
      expect(server.calls).toEqual([
        { authorization: expect.stringMatching(/^Basic /) as unknown, contentType: "application/x-www-form-urlencoded", token: "opaque-1", hint: "access_token" },
      ]);
    });

    it("answers a cached token synchronously, without asking the server", async () => {
      const policy = verifier();
      await policy.verify("Bearer opaque-1");
      now = start + 10_000;
      const again = policy.verify("Bearer opaque-1");
      expect(again).not.toBeInstanceOf(Promise);
      expect(again).toMatchObject({ ok: true, consumerId: "acme", cached: true });
      expect(server.calls).toHaveLength(1);
    });

    it("maps another configured member (sub)", async () => {
      expect(await verifier({ identityClaims: ["sub"] }).verify("Bearer opaque-1")).toMatchObject({ ok: true, consumerId: "alice-co" });
    });

    it("shares one server call between concurrent requests with the same token", async () => {
      const policy = verifier();
      const results = await Promise.all([policy.verify("Bearer opaque-1"), policy.verify("Bearer opaque-1"), policy.verify("Bearer opaque-1")]);
      expect(results.every((result) => result.ok)).toBe(true);
      expect(server.calls).toHaveLength(1);
    });
  });

  describe("error", () => {
    it("refuses an inactive token, and does not cache the refusal", async () => {
      const policy = verifier();
      const expected: IntrospectionResult = { ok: false, status: 401, presented: true, reason: "token is not active", wwwAuthenticate: 'Bearer realm="tollgate", error="invalid_token"' };
      expect(await policy.verify("Bearer revoked")).toEqual(expected);
      expect(await policy.verify("Bearer revoked")).toEqual(expected);
      expect(server.calls).toHaveLength(2);
    });

    it("asks for a token when there is none, without calling the server", () => {
      expect(verifier().verify(undefined)).toEqual({ ok: false, status: 401, presented: false, reason: "no bearer token", wwwAuthenticate: 'Bearer realm="tollgate"' });
      expect(server.calls).toHaveLength(0);
    });

    it("refuses an active token whose client is not mapped to a consumer", async () => {
      server.tokens.set("opaque-2", { active: true, client_id: "unknown-app", exp: seconds(start) + 30 });
      expect(await verifier().verify("Bearer opaque-2")).toMatchObject({ ok: false, status: 401, reason: "token identity is not mapped to a consumer" });
    });

    it("refuses a token for another audience when audiences are configured", async () => {
      server.tokens.set("opaque-3", { active: true, client_id: "app-1", aud: ["https://other.example"], exp: seconds(start) + 30 });
      expect(await verifier({ audiences: ["https://api.example"] }).verify("Bearer opaque-3")).toMatchObject({ ok: false, status: 401, reason: "token audience not accepted" });
    });

    it("fails closed with 503 when the server is down", async () => {
      const policy = verifier();
      await server.close();
      expect(await policy.verify("Bearer opaque-1")).toEqual({ ok: false, status: 503, presented: true, reason: "token introspection failed: the endpoint is unreachable" });
    });

    it("fails closed with 503 when the server does not answer in time", async () => {
      server.override = () => undefined;
      expect(await verifier({ timeoutMs: 100 }).verify("Bearer opaque-1")).toEqual({ ok: false, status: 503, presented: true, reason: "token introspection failed: the endpoint timed out" });
    });

    it("fails closed with 503 on an error status or an unreadable answer", async () => {
      server.override = (_req, res) => void res.writeHead(500).end();
      expect(await verifier().verify("Bearer opaque-1")).toMatchObject({ status: 503, reason: "token introspection failed: the endpoint answered 500" });
      server.override = (_req, res) => void res.writeHead(200, { "content-type": "application/json" }).end("{not json");
      expect(await verifier().verify("Bearer opaque-1")).toMatchObject({ status: 503, reason: "token introspection failed: the response is not JSON" });
      server.override = (_req, res) => void res.writeHead(200, { "content-type": "application/json" }).end('{"active":"yes"}');
      expect(await verifier().verify("Bearer opaque-1")).toMatchObject({ status: 503, reason: "token introspection failed: the response is not an introspection response" });
    });

    it("fails closed with 503 when the server refuses the gateway's client credentials", async () => {
      expect(await verifier({ clientSecret: "wrong" }).verify("Bearer opaque-1")).toMatchObject({ status: 503, reason: "token introspection failed: the endpoint answered 401" });
    });
  });

  describe("security", () => {
    it("never serves a cached result past the token's exp, even with a longer TTL", async () => {
      const policy = verifier({ cacheTtlMs: 3_600_000 });
      expect(await policy.verify("Bearer opaque-1")).toMatchObject({ ok: true });
      now = start + 29_999;
      expect(policy.verify("Bearer opaque-1")).toMatchObject({ ok: true, cached: true });
      expect(server.calls).toHaveLength(1);

      server.tokens.set("opaque-1", { active: false });
      now = start + 30_000;
      expect(await policy.verify("Bearer opaque-1")).toMatchObject({ ok: false, status: 401, reason: "token is not active" });
      expect(server.calls).toHaveLength(2);
    });

    it("asks again once the configured TTL has passed, when that comes before exp", async () => {
      server.tokens.set("long-lived", { active: true, client_id: "app-1", exp: seconds(start) + 3_600 });
      const policy = verifier({ cacheTtlMs: 5_000 });
      await policy.verify("Bearer long-lived");
      now = start + 4_999;
      await policy.verify("Bearer long-lived");
      expect(server.calls).toHaveLength(1);
      now = start + 5_000;
      await policy.verify("Bearer long-lived");
      expect(server.calls).toHaveLength(2);
    });

    it("refuses a token the server calls active but whose exp has passed", async () => {
      server.tokens.set("stale", { active: true, client_id: "app-1", exp: seconds(start) - 1 });
      expect(await verifier().verify("Bearer stale")).toMatchObject({ ok: false, status: 401, reason: "token expired" });
    });

    it("reapplies the identity mapping to cached results, so an unmapped consumer loses access at once", async () => {
      const policy = verifier();
      await policy.verify("Bearer opaque-1");
      const saved = mappings.get(`${issuer} client_id app-1`);
      mappings.delete(`${issuer} client_id app-1`);
      try {
        expect(policy.verify("Bearer opaque-1")).toMatchObject({ ok: false, status: 401, reason: "token identity is not mapped to a consumer" });
      } finally {
        if (saved) mappings.set(`${issuer} client_id app-1`, saved);
      }
    });

    it("sends the client credentials form-encoded in Basic (RFC 6749 2.3.1)", async () => {
      await verifier().verify("Bearer opaque-1");
      const decoded = Buffer.from((server.calls[0]?.authorization ?? "").slice(6), "base64").toString("utf8");
      expect(decoded).toBe("tollgate+gateway:s3cret%3Awith%2Fodd%26chars");
    });

    it("refuses a plain-http endpoint on a non-loopback host unless explicitly allowed", () => {
      const base = { endpoint: "http://as.internal/introspect", issuer, clientId, clientSecret };
      expect(IntrospectionPolicyConfig.safeParse(base).success).toBe(false);
      expect(IntrospectionPolicyConfig.safeParse({ ...base, allowInsecureHttp: true }).success).toBe(true);
    });
  });
});
