import { createHash, createHmac, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEvents, requestEvents, startAuthStack, subscribedConsumer, type AuthStack } from "./support/auth-e2e-stack.js";
import { waitFor } from "./support/wait-for.js";

/** AES-256-GCM keys the control plane seals HMAC secrets with; the gateway gets the same ones. Neither may reach a log. */
const oldKey = randomBytes(32).toString("base64");
const newKey = randomBytes(32).toString("base64");

interface Signed {
  headers: Record<string, string>;
}

/** Signs as docs/hmac-signing.md tells a client to, written here independently of the gateway's code. */
function sign(options: { keyId: string; secret: string; method: string; host: string; path: string; query?: string; body: string; date?: Date; nonce?: string }): Signed {
  const date = (options.date ?? new Date()).toISOString().slice(0, 19) + "Z";
  const nonce = options.nonce ?? randomBytes(16).toString("hex");
  const digest = createHash("sha256").update(options.body, "utf8").digest("base64");
  const signed: [string, string][] = [["host", options.host]];
  const stringToSign = [
    "HMAC-SHA256",
    options.keyId,
    nonce,
    date,
    options.method,
    options.path,
    options.query ?? "",
    digest,
    signed.map(([name]) => name).join(";"),
    ...signed.map(([name, value]) => `${name}:${value}`),
  ].join("\n");
  const signature = createHmac("sha256", Buffer.from(options.secret, "utf8")).update(stringToSign, "utf8").digest("base64");
  return {
    headers: {
      "x-tollgate-date": date,
      "content-digest": `sha-256=:${digest}:`,
      authorization: `HMAC-SHA256 keyId="${options.keyId}", nonce="${nonce}", headers="host", signature="${signature}"`,
    },
  };
}

describe("HMAC request signatures at the gateway, secrets opened with the control plane's keys (real processes)", () => {
  let stack: AuthStack;
  let host = "";
  const secrets: Record<string, string> = {};
  let sent = 0;

  const send = async (method: string, path: string, body: string | undefined, headers: Record<string, string>) => {
    sent += 1;
    const response = await fetch(`${stack.gateway.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: response.headers.get("content-type") === "application/problem+json" ? (JSON.parse(text) as Record<string, unknown>) : text };
  };
  const signedPost = (keyId: string, body: string, extra: { date?: Date; nonce?: string } = {}): Signed =>
    sign({ keyId, secret: secrets[keyId] as string, method: "POST", host, path: "/orders", body, ...extra });

  beforeAll(async () => {
    stack = await startAuthStack({
      controlPlaneConfig: { secretKeys: { current: "k1", keys: { k1: oldKey } } },
      gatewayConfig: (upstreamUrl) => ({
        secretKeys: { keys: { k1: oldKey, k2: newKey } },
        upstreams: { api: { targets: [upstreamUrl] } },
        routes: [{ id: "orders", match: { pathPrefix: "/orders" }, upstream: "api", auth: [{ type: "hmac", maxClockSkewSeconds: 60, maxBodyBytes: 1_024 }] }],
      }),
    });
    host = new URL(stack.gateway.url).host;
    await subscribedConsumer(stack, "acme", ["orders"]);
    const issued = await stack.admin("POST", "/admin/consumers/acme/hmac-secrets", { id: "hmac-acme-1", name: "sealed with k1" });
    expect(issued.status).toBe(201);
    secrets["hmac-acme-1"] = issued.body.secret as string;
  });

  afterAll(async () => {
    await stack?.cleanup();
  });

  it("forwards a correctly signed request with exactly the body that was signed", async () => {
    const body = JSON.stringify({ sku: "A-1", qty: 2 });
    await waitFor("the secret to reach the gateway", async () => (await send("POST", "/orders", body, signedPost("hmac-acme-1", body).headers)).status === 200, 5_000, 10);
    const before = stack.seen.length;
    expect((await send("POST", "/orders", body, { ...signedPost("hmac-acme-1", body).headers, "content-type": "application/json" })).status).toBe(200);
    expect(stack.seen[before]).toMatchObject({ method: "POST", url: "/orders", body });
    expect(stack.seen[before]?.headers).toMatchObject({ "x-consumer-id": "acme", "content-length": String(body.length) });
    expect(stack.seen[before]?.headers.authorization).toBeUndefined();
    expect((await send("GET", "/orders", undefined, sign({ keyId: "hmac-acme-1", secret: secrets["hmac-acme-1"] as string, method: "GET", host, path: "/orders", body: "" }).headers)).status).toBe(200);

    // A chunked body (no Content-Length) is read whole, checked, and forwarded as the bytes checked.
    const parts = ['{"sku":', '"B-2",', '"qty":5}'];
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
        controller.close();
      },
    });
    sent += 1;
    const streamed = await fetch(`${stack.gateway.url}/orders`, { method: "POST", headers: signedPost("hmac-acme-1", parts.join("")).headers, body: chunked, duplex: "half" });
    expect(streamed.status).toBe(200);
    await streamed.text();
    expect(stack.seen.at(-1)).toMatchObject({ body: parts.join("") });
    expect(stack.seen.at(-1)?.headers).toMatchObject({ "content-length": String(parts.join("").length) });
  });

  it("refuses a replayed signature, a skewed date and a changed body with 401 and a challenge; the upstream sees none of them", async () => {
    const body = '{"qty":1}';
    const original = signedPost("hmac-acme-1", body);
    expect((await send("POST", "/orders", body, original.headers)).status).toBe(200);
    const upstreamBefore = stack.upstream.requests;

    const replayed = await send("POST", "/orders", body, original.headers);
    const skewed = await send("POST", "/orders", body, signedPost("hmac-acme-1", body, { date: new Date(Date.now() - 10 * 60_000) }).headers);
    const changed = await send("POST", "/orders", '{"qty":9}', signedPost("hmac-acme-1", body).headers);
    for (const [refused, reason] of [
      [replayed, "nonce already used (replayed request)"],
      [skewed, "X-Tollgate-Date is outside the allowed clock skew"],
      [changed, "body does not match Content-Digest"],
    ] as const) {
      expect(refused.status, reason).toBe(401);
      expect(refused.headers.get("www-authenticate"), reason).toBe('HMAC-SHA256 realm="tollgate"');
      expect(refused.headers.get("content-type"), reason).toBe("application/problem+json");
      expect(refused.body, reason).toMatchObject({ code: "unauthorized", detail: reason });
    }
    expect(stack.upstream.requests).toBe(upstreamBefore);
  });

  it("answers 413 for a signed body over the route's cap, without forwarding it", async () => {
    const body = "x".repeat(2_000);
    const upstreamBefore = stack.upstream.requests;
    const tooLarge = await send("POST", "/orders", body, signedPost("hmac-acme-1", body).headers);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toMatchObject({ code: "body-too-large", status: 413 });
    expect(stack.upstream.requests).toBe(upstreamBefore);
  });

  it("keeps accepting secrets sealed with the old key after the control plane rotated to a new one, and opens re-encrypted ones", async () => {
    await stack.restartControlPlane({ secretKeys: { current: "k2", keys: { k1: oldKey, k2: newKey } } });
    const issued = await stack.admin("POST", "/admin/consumers/acme/hmac-secrets", { id: "hmac-acme-2", name: "sealed with k2" });
    expect(issued.status).toBe(201);
    expect(issued.body.credential).toMatchObject({ encryptionKeyId: "k2" });
    secrets["hmac-acme-2"] = issued.body.secret as string;

    await waitFor("the new secret to reach the gateway", async () => (await send("POST", "/orders", "{}", signedPost("hmac-acme-2", "{}").headers)).status === 200, 5_000, 10);
    expect((await send("POST", "/orders", "{}", signedPost("hmac-acme-1", "{}").headers)).status).toBe(200);

    const reencrypted = await stack.admin("POST", "/admin/secret-keys/reencrypt");
    expect(reencrypted.status, JSON.stringify(reencrypted.body)).toBe(200);
    expect((await stack.admin("GET", "/admin/credentials/hmac-acme-1")).body).toMatchObject({ encryptionKeyId: "k2" });
    // The secret keeps working throughout, and until a request decided under a control-plane
    // version that includes HmacSecretReencrypted (the secret now sealed with k2) has passed.
    const resealedAt = readEvents(stack.eventsFile, "type = 'HmacSecretReencrypted'").at(-1)?.position ?? Infinity;
    await waitFor("a request decided with the re-sealed secret", async () => {
      expect((await send("POST", "/orders", "{}", signedPost("hmac-acme-1", "{}").headers)).status).toBe(200);
      const latest = (await requestEvents(stack.eventsFile, sent)).at(-1);
      return Number(latest?.data.controlPlaneVersion) >= resealedAt;
    });
  });

  it("records each refusal as RequestRejected with stage and reason, and leaves no secret or encryption key in the log or the output", async () => {
    const events = await requestEvents(stack.eventsFile, sent);
    expect(events).toHaveLength(sent);
    const rejected = events.filter((event) => event.type === "RequestRejected").map((event) => [event.data.stage, event.data.reason, event.data.status]);
    expect(rejected).toEqual(
      expect.arrayContaining([
        ["auth", "nonce already used (replayed request)", 401],
        ["auth", "X-Tollgate-Date is outside the allowed clock skew", 401],
        ["auth", "body does not match Content-Digest", 401],
        ["validation", "a signed request's body may be at most 1024 bytes", 413],
      ]),
    );
    const changed = events.find((event) => event.data.reason === "body does not match Content-Digest");
    expect(changed?.data).toMatchObject({ consumerId: "acme", credentialId: "hmac-acme-1" });

    const { exitCodes, found } = await stack.stopAndFindSecrets([...Object.values(secrets), oldKey, newKey]);
    expect(exitCodes).toEqual([0, 0]);
    expect(found.map((secret) => `${secret.slice(0, 6)}…`)).toEqual([]);
  });
});
