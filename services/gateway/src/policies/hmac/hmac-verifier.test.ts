import { execFileSync } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import { createBodyDigestCheck } from "./body-digest-check.js";
import { HmacPolicyConfig } from "./hmac-policy-config.js";
import { createHmacVerifier, type HmacKey, type HmacVerifier, type SignedRequestHead } from "./hmac-verifier.js";
import { canonicalPath, canonicalQuery, createStringToSign } from "./string-to-sign.js";

const secretText = "tgs_YW4gZXhhbXBsZSBzZWNyZXQ7IG5ldmVyIHVzZSBpdCE";
const keys = new Map<string, HmacKey>([["hmac-acme-1", { consumerId: "acme", credentialId: "hmac-acme-1", secret: Buffer.from(secretText, "utf8") }]]);
const start = Date.parse("2025-06-01T12:00:00Z");

interface ClientRequest {
  method?: string;
  target?: string;
  headers?: Record<string, string>;
  body?: string;
  date?: string;
  nonce?: string;
  signed?: string[];
  keyId?: string;
  secret?: string;
}

/** What a client does (docs/hmac-signing.md), built from the exported canonical forms. */
function signedRequest(request: ClientRequest = {}): { head: SignedRequestHead; body: Buffer } {
  const method = request.method ?? "POST";
  const target = request.target ?? "/orders/42?expand=price";
  const body = Buffer.from(request.body ?? '{"qty":2}', "utf8");
  const date = request.date ?? new Date(start).toISOString().replace(/\.\d{3}Z$/, "Z");
  const nonce = request.nonce ?? randomBytes(16).toString("hex");
  const keyId = request.keyId ?? "hmac-acme-1";
  const signed = request.signed ?? ["host"];
  const headers: Record<string, string> = { host: "api.example.com", "content-type": "application/json", ...request.headers };
  const digest = createHash("sha256").update(body).digest("base64");
  const [path, query = ""] = target.split("?") as [string, string | undefined];
  const stringToSign = createStringToSign({
    keyId,
    nonce,
    date,
    method,
    path: canonicalPath(path)!,
    query: canonicalQuery(query)!,
    bodyDigest: digest,
    headers: signed.map((name) => [name, headers[name] ?? ""] as const),
  });
  const signature = createHmac("sha256", Buffer.from(request.secret ?? secretText, "utf8")).update(stringToSign).digest("base64");
  return {
    head: {
      method,
      target,
      headers: {
        ...headers,
        "x-tollgate-date": date,
        "content-digest": `sha-256=:${digest}:`,
        authorization: `HMAC-SHA256 keyId="${keyId}", nonce="${nonce}", headers="${signed.join(";")}", signature="${signature}"`,
      },
    },
    body,
  };
}

function withHeader(head: SignedRequestHead, name: string, value: string | undefined): SignedRequestHead {
  return { ...head, headers: { ...head.headers, [name]: value } };
}

describe("HMAC request signature policy", () => {
  let now: number;
  const clock = { epochMs: () => now };
  const verifier = (overrides: Record<string, unknown> = {}): HmacVerifier =>
    createHmacVerifier(HmacPolicyConfig.parse(overrides), { keys: { findHmacKey: (keyId) => keys.get(keyId) }, clock });

  beforeEach(() => {
    now = start + 1_000;
  });

  describe("docs/hmac-signing.md", () => {
    const doc = readFileSync(new URL("../../../../../docs/hmac-signing.md", import.meta.url), "utf8");
    const block = (marker: string): string => {
      const match = new RegExp(`<!-- example:${marker} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
      if (match === null) throw new Error(`no example:${marker} block in docs/hmac-signing.md`);
      return match[1] as string;
    };

    it("the client snippet prints exactly the documented string to sign and request", () => {
      const output = execFileSync(process.execPath, ["--input-type=module", "-e", block("client")], { encoding: "utf8" });
      expect(output).toBe(`${block("string-to-sign")}\n---\n${block("request")}\n`);
    });

    it("the gateway builds the documented string to sign byte for byte, and accepts the documented request", () => {
      const [head, body] = block("request").split("\n\n") as [string, string];
      const [requestLine, ...headerLines] = head.split("\n");
      const [method, target] = (requestLine as string).split(" ") as [string, string];
      const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
      const authorization = headers["authorization"] as string;
      const parameter = (name: string): string => new RegExp(`${name}="([^"]*)"`).exec(authorization)?.[1] as string;

      const stringToSign = createStringToSign({
        keyId: parameter("keyId"),
        nonce: parameter("nonce"),
        date: headers["x-tollgate-date"] as string,
        method,
        path: canonicalPath(target.split("?")[0] as string)!,
        query: canonicalQuery(target.split("?")[1] as string)!,
        bodyDigest: /^sha-256=:(.*):$/.exec(headers["content-digest"] as string)?.[1] as string,
        headers: [
          ["host", headers["host"] as string],
          ["content-type", headers["content-type"] as string],
        ],
      });
      expect(Buffer.from(stringToSign, "utf8").equals(Buffer.from(block("string-to-sign"), "utf8"))).toBe(true);

      now = Date.parse(headers["x-tollgate-date"] as string) + 2_000;
      const policy = verifier({ requiredSignedHeaders: ["host", "content-type"] });
      expect(policy.verify({ method, target, headers }, Buffer.from(body, "utf8"))).toEqual({
        ok: true,
        consumerId: "acme",
        credentialId: "hmac-acme-1",
        keyId: "hmac-acme-1",
        bodyDigest: createHash("sha256").update(body).digest(),
      });
    });
  });

  describe("happy", () => {
    it("accepts a correctly signed request", () => {
      const { head, body } = signedRequest();
      expect(verifier().verify(head, body)).toMatchObject({ ok: true, consumerId: "acme", credentialId: "hmac-acme-1", keyId: "hmac-acme-1" });
    });

    it("accepts a request without a body (the digest of the empty body) and without a query", () => {
      const { head, body } = signedRequest({ method: "GET", target: "/orders", body: "" });
      expect(head.headers["content-digest"]).toBe("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
      expect(verifier().verify(head, body)).toMatchObject({ ok: true });
    });

    it("accepts a date anywhere inside the skew window, either way", () => {
      now = start + 300_000;
      expect(verifier().verify(signedRequest().head, signedRequest().body).ok).toBe(true);
      now = start - 300_000;
      expect(verifier().verify(signedRequest().head, signedRequest().body).ok).toBe(true);
    });

    it("survives what proxies may do to the target: reordered pairs, hex case, escaped unreserved characters, absolute form", () => {
      const { head, body } = signedRequest({ target: "/orders/~42?b=2&a=x%2fy&c=%41" });
      for (const target of ["/orders/%7E42?a=x%2Fy&c=A&b=2", "/orders/~42?c=%41&&b=2&a=x%2fy", "http://api.example.com/orders/~42?b=2&a=x%2fy&c=%41"]) {
        expect(verifier().verify({ ...head, target }, body)).toMatchObject({ ok: true });
      }
    });

    it("checks a streamed body chunk by chunk", () => {
      const { head, body } = signedRequest({ body: "x".repeat(10_000) });
      const result = verifier().verifyHead(head);
      if (!result.ok) throw new Error(result.reason);
      const check = createBodyDigestCheck(result.bodyDigest);
      for (let offset = 0; offset < body.length; offset += 4_096) check.update(body.subarray(offset, offset + 4_096));
      expect(check.matches()).toBe(true);
    });
  });

  describe("error", () => {
    it("asks for a signature when there is none", () => {
      const { head } = signedRequest();
      for (const authorization of [undefined, "Bearer abc"]) {
        expect(verifier().verifyHead(withHeader(head, "authorization", authorization))).toEqual({
          ok: false,
          status: 401,
          presented: false,
          reason: "no request signature",
          wwwAuthenticate: 'HMAC-SHA256 realm="tollgate"',
        });
      }
    });

    it("refuses malformed signature parameters", () => {
      const { head } = signedRequest();
      const good = head.headers["authorization"] as string;
      const variants = [
        good.replace(/, nonce="[^"]*"/, ""),
        good.replace(/nonce="[^"]*"/, 'nonce="too-short"'),
        `${good}, keyId="hmac-acme-1"`,
        `${good}, extra="1"`,
        good.replace(/signature="[^"]*"/, 'signature="AAAA"'),
        good.replace('headers="host"', 'headers="host;host"'),
        good.replace('headers="host"', 'headers="host;authorization"'),
        good.replace("keyId=", "keyId"),
      ];
      for (const authorization of variants) {
        expect(verifier().verifyHead(withHeader(head, "authorization", authorization))).toMatchObject({ ok: false, status: 401, reason: "malformed signature parameters" });
      }
    });

    it("refuses a signature that does not cover the required headers", () => {
      const { head } = signedRequest({ signed: [] });
      expect(verifier().verifyHead(head)).toMatchObject({ ok: false, status: 401, reason: "the signature must cover the host header" });
      expect(verifier({ requiredSignedHeaders: [] }).verifyHead(head)).toMatchObject({ ok: true });
    });

    it("refuses a missing or malformed date, and a missing digest", () => {
      const { head } = signedRequest();
      expect(verifier().verifyHead(withHeader(head, "x-tollgate-date", undefined))).toMatchObject({ reason: "missing X-Tollgate-Date" });
      for (const date of ["2025-06-01T12:00:00.000Z", "2025-06-01T12:00:00+00:00", "Sun, 01 Jun 2025 12:00:00 GMT", "2025-02-30T12:00:00Z"]) {
        expect(verifier().verifyHead(withHeader(head, "x-tollgate-date", date))).toMatchObject({ reason: "malformed X-Tollgate-Date" });
      }
      for (const digest of [undefined, "sha-512=:abc:", "sha-256=abc", "sha-256=:AAAA:"]) {
        expect(verifier().verifyHead(withHeader(head, "content-digest", digest))).toMatchObject({ reason: "missing or malformed Content-Digest (sha-256 required)" });
      }
    });

    it("refuses an unknown key and a wrong secret", () => {
      expect(verifier().verifyHead(signedRequest({ keyId: "hmac-nobody" }).head)).toMatchObject({ status: 401, reason: "unknown signing key" });
      expect(verifier().verifyHead(signedRequest({ secret: "tgs_not-the-secret" }).head)).toMatchObject({ status: 401, reason: "signature does not match" });
    });

    it("refuses a signed header that was not sent, and a malformed target", () => {
      const { head } = signedRequest({ signed: ["host", "x-tenant"], headers: { "x-tenant": "t1" } });
      expect(verifier().verifyHead(withHeader(head, "x-tenant", undefined))).toMatchObject({ reason: "signed header x-tenant is missing" });
      expect(verifier().verifyHead({ ...head, target: "/orders/42?expand=%zz" })).toMatchObject({ reason: "malformed percent-encoding in the request target" });
    });
  });

  describe("security", () => {
    it("refuses a replayed request, even with a new date", () => {
      const policy = verifier();
      const nonce = randomBytes(16).toString("hex");
      const { head, body } = signedRequest({ nonce });
      expect(policy.verify(head, body).ok).toBe(true);
      now += 60_000;
      expect(policy.verify(head, body)).toEqual({ ok: false, status: 401, presented: true, reason: "nonce already used (replayed request)", wwwAuthenticate: 'HMAC-SHA256 realm="tollgate"' });
      const resigned = signedRequest({ nonce, date: new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z") });
      expect(policy.verify(resigned.head, resigned.body)).toMatchObject({ reason: "nonce already used (replayed request)" });
    });

    it("keeps refusing a replay up to the last instant of the skew window, and then by its date", () => {
      const policy = verifier();
      const { head, body } = signedRequest();
      expect(policy.verify(head, body).ok).toBe(true);
      now = start + 300_000;
      expect(policy.verify(head, body)).toMatchObject({ reason: "nonce already used (replayed request)" });
      now = start + 300_001;
      expect(policy.verify(head, body)).toMatchObject({ reason: "X-Tollgate-Date is outside the allowed clock skew" });
    });

    it("judges the date at the instant given (the request's arrival), not at the clock's now", () => {
      const { head, body } = signedRequest();
      now = start + 900_000;
      expect(verifier().verify(head, body, start + 5_000)).toMatchObject({ ok: true });
      expect(verifier().verify(head, body)).toMatchObject({ reason: "X-Tollgate-Date is outside the allowed clock skew" });
    });

    it("refuses a date outside the skew window, past or future", () => {
      const { head, body } = signedRequest();
      now = start + 300_001;
      expect(verifier().verify(head, body)).toMatchObject({ status: 401, reason: "X-Tollgate-Date is outside the allowed clock skew" });
      now = start - 300_001;
      expect(verifier().verify(head, body)).toMatchObject({ status: 401, reason: "X-Tollgate-Date is outside the allowed clock skew" });
      now = start + 61_000;
      expect(verifier({ maxClockSkewSeconds: 60 }).verify(head, body)).toMatchObject({ reason: "X-Tollgate-Date is outside the allowed clock skew" });
    });

    it("refuses a changed body, and a changed body with a matching digest", () => {
      const { head, body } = signedRequest({ body: '{"qty":2}' });
      expect(verifier().verify(head, Buffer.from('{"qty":200}'))).toMatchObject({ status: 401, reason: "body does not match Content-Digest" });
      const forgedDigest = `sha-256=:${createHash("sha256").update('{"qty":200}').digest("base64")}:`;
      expect(verifier().verify(withHeader(head, "content-digest", forgedDigest), Buffer.from('{"qty":200}'))).toMatchObject({ reason: "signature does not match" });
      expect(verifier().verify(head, body)).toMatchObject({ ok: true });
    });

    it("refuses a changed path, query, method or signed header", () => {
      const { head, body } = signedRequest({ target: "/orders/42?expand=price&q=a+b" });
      const changed: SignedRequestHead[] = [
        { ...head, target: "/orders/43?expand=price&q=a+b" },
        { ...head, target: "/orders/42/?expand=price&q=a+b" },
        { ...head, target: "/orders/42?expand=price&q=a+c" },
        { ...head, target: "/orders/42?expand=price&q=a%2Bb" },
        { ...head, target: "/orders/42?expand=price&q=a%20b" },
        { ...head, target: "/orders/42?expand=price&q=a+b&admin=1" },
        { ...head, target: "/orders/42?expand=price" },
        { ...head, method: "DELETE" },
        withHeader(head, "host", "admin.example.com"),
      ];
      for (const request of changed) expect(verifier().verify(request, body)).toMatchObject({ ok: false, status: 401, reason: "signature does not match" });
      expect(verifier().verify(head, body)).toMatchObject({ ok: true });
    });

    it("keeps the order of a repeated query name: a=1&a=2 is not a=2&a=1", () => {
      const { head, body } = signedRequest({ target: "/orders?a=1&a=2" });
      expect(verifier().verify({ ...head, target: "/orders?a=2&a=1" }, body)).toMatchObject({ reason: "signature does not match" });
    });

    it("does not record the nonce of a bad signature, so nobody without the secret can burn nonces", () => {
      const policy = verifier();
      const nonce = randomBytes(16).toString("hex");
      expect(policy.verifyHead(signedRequest({ nonce, secret: "tgs_wrong" }).head)).toMatchObject({ reason: "signature does not match" });
      expect(policy.verifyHead(signedRequest({ nonce }).head)).toMatchObject({ ok: true });
    });

    it("fails closed with 503 when the nonce cache is full of live nonces, and recovers as they expire", () => {
      const policy = verifier({ nonceCacheMaxEntries: 1_000 });
      for (let index = 0; index < 1_000; index++) expect(policy.verifyHead(signedRequest().head).ok).toBe(true);
      expect(policy.verifyHead(signedRequest().head)).toEqual({ ok: false, status: 503, presented: true, reason: "too many signed requests in the skew window to remember their nonces" });
      now = start + 300_001;
      const later = signedRequest({ date: new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z") });
      expect(policy.verifyHead(later.head)).toMatchObject({ ok: true });
    });

    it("never puts the secret or the signature in a reason", () => {
      const { head } = signedRequest({ secret: "tgs_wrong" });
      const signature = /signature="([^"]*)"/.exec(head.headers["authorization"] as string)?.[1] as string;
      const text = JSON.stringify(verifier().verifyHead(head));
      expect(text).not.toContain(signature);
      expect(text).not.toContain("tgs_");
    });
  });
});

describe("HmacPolicyConfig", () => {
  it("fills in defaults and refuses listing the always-signed headers", () => {
    expect(HmacPolicyConfig.parse({})).toEqual({ maxClockSkewSeconds: 300, requiredSignedHeaders: ["host"], nonceCacheMaxEntries: 100_000, maxBodyBytes: 1_048_576, realm: "tollgate" });
    expect(HmacPolicyConfig.safeParse({ requiredSignedHeaders: ["content-digest"] }).success).toBe(false);
    expect(HmacPolicyConfig.safeParse({ requiredSignedHeaders: ["Host"] }).success).toBe(false);
  });
});
