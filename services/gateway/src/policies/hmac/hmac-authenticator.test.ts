import { createHash, createHmac, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { fakePolicyExchange } from "../../test-support/fake-policy-exchange.js";
import { AuthRefusal, noCredential } from "../authenticator.js";
import { PolicyRejection, type PolicyExchange } from "../policy-step.js";
import { createHmacAuthenticator } from "./hmac-authenticator.js";
import { HmacAuthenticatorConfig } from "./hmac-policy-config.js";
import type { HmacKey, HmacKeyLookup } from "./hmac-verifier.js";
import { HmacSecretUnavailableError } from "./sealed-hmac-key-lookup.js";
import { createStringToSign } from "./string-to-sign.js";

const secret = "tgs_dW5pdCB0ZXN0IHNlY3JldDsgbm90IGZvciB1c2UhISE";
const receivedAtMs = Date.parse("2026-11-26T10:00:00Z");
const keys: HmacKeyLookup = {
  findHmacKey: (keyId) => (keyId === "hmac-1" ? ({ consumerId: "acme", credentialId: "hmac-1", secret: Buffer.from(secret) } satisfies HmacKey) : undefined),
};

/** A signed request as the exchange holds it: the forwarded header list and the client request, whose body is a stream. */
function signedExchange(options: { signedBody: string; sentBody?: string; chunked?: boolean }): PolicyExchange {
  const sent = options.sentBody ?? options.signedBody;
  const digest = createHash("sha256").update(options.signedBody).digest("base64");
  const nonce = randomBytes(16).toString("hex");
  const date = new Date(receivedAtMs).toISOString().slice(0, 19) + "Z";
  const stringToSign = createStringToSign({ keyId: "hmac-1", nonce, date, method: "GET", path: "/orders", query: "", bodyDigest: digest, headers: [["host", "api.test"]] });
  const signature = createHmac("sha256", secret).update(stringToSign).digest("base64");
  const authorization = `HMAC-SHA256 keyId="hmac-1", nonce="${nonce}", headers="host", signature="${signature}"`;
  const headers: Record<string, string> = { host: "api.test", "x-tollgate-date": date, "content-digest": `sha-256=:${digest}:`, authorization };
  if (sent !== "") headers[options.chunked ? "transfer-encoding" : "content-length"] = options.chunked ? "chunked" : String(Buffer.byteLength(sent));
  const req = Object.assign(Readable.from(sent === "" ? [] : [Buffer.from(sent.slice(0, 3)), Buffer.from(sent.slice(3))]), { headers, url: "/orders", method: "GET" });
  return { ...fakePolicyExchange({ headers: Object.entries(headers).flat(), receivedAtMs, path: "/orders" }), req: req as unknown as IncomingMessage };
}

const authenticator = (config: Record<string, unknown> = {}, lookup: HmacKeyLookup = keys) =>
  createHmacAuthenticator(HmacAuthenticatorConfig.parse({ type: "hmac", ...config }), { keys: lookup, clock: { epochMs: () => receivedAtMs } });

describe("hmac authenticator (the verifier wired to the request and its body)", () => {
  it("reads and checks the body, keeps it for forwarding, and drops the signature from what is forwarded", async () => {
    const exchange = signedExchange({ signedBody: '{"qty":2}' });
    expect(await authenticator().authenticate(exchange)).toEqual({ consumerId: "acme", credentialId: "hmac-1", scopes: null });
    expect(exchange.bodyOverride?.toString()).toBe('{"qty":2}');
    expect(exchange.headers.map((value) => value.toLowerCase())).not.toContain("authorization");
  });

  it("accepts a request without a body against the empty body's digest, without touching the stream", async () => {
    const exchange = signedExchange({ signedBody: "" });
    expect(await authenticator().authenticate(exchange)).toMatchObject({ consumerId: "acme" });
    expect(exchange.bodyOverride).toBeNull();
  });

  it("refuses a body that is not the signed one, naming the recognised credential", async () => {
    const outcome = await authenticator().authenticate(signedExchange({ signedBody: '{"qty":2}', sentBody: '{"qty":9}' }));
    expect(outcome).toBeInstanceOf(AuthRefusal);
    expect(outcome).toMatchObject({ status: 401, reason: "body does not match Content-Digest", consumerId: "acme", credentialId: "hmac-1" });
  });

  it("ends the request with 413 for a body over maxBodyBytes, declared or streamed, and closes the connection", async () => {
    const body = "x".repeat(64);
    for (const chunked of [false, true]) {
      const outcome = await authenticator({ maxBodyBytes: 10 }).authenticate(signedExchange({ signedBody: body, chunked }));
      expect(outcome).toBeInstanceOf(PolicyRejection);
      expect(outcome).toMatchObject({ stage: "validation", problem: { status: 413, code: "body-too-large" }, headers: [["connection", "close"]] });
    }
  });

  it("leaves a request without a signature to the route's other authenticators", async () => {
    expect(await authenticator().authenticate(fakePolicyExchange({ headers: ["authorization", "Bearer abc"] }))).toBe(noCredential);
  });

  it("answers 503 when the secret cannot be opened with the configured keys, and never names key material", async () => {
    const unopenable: HmacKeyLookup = {
      findHmacKey: () => {
        throw new HmacSecretUnavailableError("hmac-1", "k9", new Error("unknown key"));
      },
    };
    const outcome = await authenticator({}, unopenable).authenticate(signedExchange({ signedBody: "" }));
    expect(outcome).toMatchObject({ status: 503, reason: "the signing secret cannot be opened with the configured secretKeys" });
  });
});
