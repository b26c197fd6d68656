import { describe, expect, it } from "vitest";
import { ControlPlaneFixture } from "../../test-support/control-plane-fixture.js";
import { fakePolicyExchange } from "../../test-support/fake-policy-exchange.js";
import { AuthRefusal, noCredential, type Authenticator } from "../authenticator.js";
import type { PolicyRequest } from "../policy-step.js";
import { createApiKeyAuthenticator } from "./api-key-authenticator.js";
import { ApiKeyPolicyConfig, type ApiKeyPolicyConfigInput } from "./api-key-policy-config.js";

const now = Date.UTC(2026, 10, 26, 10, 0, 0);

function setup(config: Partial<ApiKeyPolicyConfigInput> = {}): { fixture: ControlPlaneFixture; key: string; authenticator: Authenticator & { async: false } } {
  const fixture = new ControlPlaneFixture().consumer("acme");
  const key = fixture.issueKey("cred-1", "acme");
  const authenticator = createApiKeyAuthenticator(ApiKeyPolicyConfig.parse({ type: "api-key", ...config }), fixture.index);
  if (authenticator.async) throw new Error("the API key authenticator is synchronous");
  return { fixture, key, authenticator };
}

function refusal(outcome: unknown): AuthRefusal {
  expect(outcome).toBeInstanceOf(AuthRefusal);
  return outcome as AuthRefusal;
}

describe("API key authenticator", () => {
  it("accepts a live key from the header and removes the header before forwarding", () => {
    const { key, authenticator } = setup();
    const request = fakePolicyExchange({ headers: ["Accept", "*/*", "X-Api-Key", key] });
    expect(authenticator.authenticate(request)).toMatchObject({ consumerId: "acme", credentialId: "cred-1", scopes: null });
    expect(request.headers).toEqual(["Accept", "*/*"]);
  });

  it("leaves the header for the upstream when hideCredential is false", () => {
    const { key, authenticator } = setup({ hideCredential: false });
    const request = fakePolicyExchange({ headers: ["x-api-key", key] });
    expect(authenticator.authenticate(request)).toMatchObject({ consumerId: "acme" });
    expect(request.headers).toEqual(["x-api-key", key]);
  });

  it("reads a configured header and a query parameter, and always strips the parameter", () => {
    const { key, authenticator } = setup({ header: "Authorization-Key", queryParam: "api_key" });
    const fromQuery = fakePolicyExchange({ query: `?page=2&api_key=${key}` });
    expect(authenticator.authenticate(fromQuery)).toMatchObject({ credentialId: "cred-1" });
    expect(fromQuery.query).toBe("?page=2");
    const fromHeader = fakePolicyExchange({ headers: ["authorization-key", key] });
    expect(authenticator.authenticate(fromHeader)).toMatchObject({ credentialId: "cred-1" });
    const wrong = fakePolicyExchange({ query: "?api_key=nope" });
    refusal(authenticator.authenticate(wrong));
    expect(wrong.query).toBe("");
  });

  it("ignores the query unless a parameter is configured", () => {
    const { key, authenticator } = setup();
    const request = fakePolicyExchange({ query: `?api_key=${key}` });
    expect(authenticator.authenticate(request)).toBe(noCredential);
    expect(request.query).toBe(`?api_key=${key}`);
  });

  it("says nothing was presented when there is no key, so another authenticator may try", () => {
    const { authenticator } = setup();
    expect(authenticator.authenticate(fakePolicyExchange())).toBe(noCredential);
    expect(authenticator.challenge).toBe('ApiKey realm="tollgate"');
  });

  it("refuses unknown, mistyped and foreign keys, with a reason that never contains the key", () => {
    const { key, authenticator } = setup();
    const other = new ControlPlaneFixture();
    other.issueKey("x", "y");
    const unknownKey = other.issueKey("z", "y");
    const mistyped = key.slice(0, 10) + (key[10] === "A" ? "B" : "A") + key.slice(11);
    const cases: [string, string][] = [
      [unknownKey, "unknown API key"],
      [mistyped, "malformed API key: its checksum does not match (mistyped or truncated?)"],
      ["sk_live_123", "malformed API key: not a Tollgate key (tg_ followed by 49 letters and digits)"],
      ["", "malformed API key: not a Tollgate key (tg_ followed by 49 letters and digits)"],
    ];
    for (const [presented, reason] of cases) {
      const refused = refusal(authenticator.authenticate(fakePolicyExchange({ headers: ["x-api-key", presented] })));
      expect(refused).toMatchObject({ status: 401, reason, challenge: 'ApiKey realm="tollgate", error="invalid_key"', credentialId: null });
      if (presented !== "") expect(refused.reason).not.toContain(presented);
    }
  });

  it("refuses a request that carries two different keys", () => {
    const { key, authenticator } = setup({ queryParam: "api_key" });
    expect(refusal(authenticator.authenticate(fakePolicyExchange({ headers: ["x-api-key", key, "X-API-Key", key] }))).reason).toBe(
      "more than one API key in the request",
    );
    expect(refusal(authenticator.authenticate(fakePolicyExchange({ headers: ["x-api-key", key], query: "?api_key=other" }))).reason).toBe(
      "more than one API key in the request",
    );
  });

  it("refuses a revoked key and names its credential", () => {
    const { fixture, key, authenticator } = setup();
    fixture.revokeKey("cred-1", "acme");
    expect(authenticator.authenticate(fakePolicyExchange({ headers: ["x-api-key", key] }))).toMatchObject({
      status: 401,
      reason: "API key revoked",
      consumerId: "acme",
      credentialId: "cred-1",
    });
  });

  it("refuses a key from its expiry on, measured at the request's arrival", () => {
    const fixture = new ControlPlaneFixture().consumer("acme");
    const key = fixture.issueKey("cred-1", "acme", { expiresAt: new Date(now).toISOString() });
    const authenticator = createApiKeyAuthenticator(ApiKeyPolicyConfig.parse({ type: "api-key" }), fixture.index) as Authenticator & { async: false };
    const at = (receivedAtMs: number): PolicyRequest => fakePolicyExchange({ headers: ["x-api-key", key], receivedAtMs });
    expect(authenticator.authenticate(at(now - 1))).toMatchObject({ credentialId: "cred-1" });
    expect(authenticator.authenticate(at(now))).toMatchObject({ reason: "API key expired", credentialId: "cred-1" });
  });

  it("honours a rotation's overlap: both keys work until it ends, then only the new one", () => {
    const fixture = new ControlPlaneFixture().consumer("acme");
    const old = fixture.issueKey("cred-1", "acme", { keyId: "k1" });
    const overlapEnd = now + 60_000;
    const next = fixture.rotateKey("cred-1", "acme", "k1", "k2", new Date(overlapEnd).toISOString());
    const authenticator = createApiKeyAuthenticator(ApiKeyPolicyConfig.parse({ type: "api-key" }), fixture.index) as Authenticator & { async: false };
    const call = (key: string, receivedAtMs: number) => authenticator.authenticate(fakePolicyExchange({ headers: ["x-api-key", key], receivedAtMs }));
    expect(call(old, overlapEnd - 1)).toMatchObject({ credentialId: "cred-1" });
    expect(call(next, overlapEnd - 1)).toMatchObject({ credentialId: "cred-1" });
    expect(call(old, overlapEnd)).toMatchObject({ status: 401, reason: "API key replaced by a rotation whose overlap has ended" });
    expect(call(next, overlapEnd + 86_400_000)).toMatchObject({ credentialId: "cred-1" });
  });

  it("discards its credential when another authenticator accepted first", () => {
    const { key, authenticator } = setup({ queryParam: "api_key" });
    const request = fakePolicyExchange({ headers: ["x-api-key", key], query: `?api_key=${key}&a=1` });
    authenticator.discardCredential?.(request);
    expect(request.headers).toEqual([]);
    expect(request.query).toBe("?a=1");
  });
});
