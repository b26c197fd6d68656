import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/control-plane-harness.js";

type Json = Record<string, unknown>;

describe("admin API (happy)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it("creates a plan with defaults, returns its version as ETag, and lists it at once (read-your-writes)", async () => {
    const created = await h.admin("POST", "/admin/plans", {
      id: "gold",
      name: "Gold",
      public: true,
      rateLimits: [{ name: "per-second", points: 10, windowSeconds: 1, algorithm: "fixed-window" }],
      quota: { limit: 100_000, period: "month", enforcement: "overage" },
      routes: ["demo"],
      price: { stripePriceId: "price_gold", stripeMeterEventName: "api_requests" },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("etag")).toBe('"0"');
    expect(created.body).toMatchObject({ id: "gold", version: 0, name: "Gold", description: "", scopes: [], archived: false });
    expect(BigInt(created.headers.get("x-control-plane-version")!)).toBeGreaterThanOrEqual(1n);

    const list = await h.admin<{ items: Json[] }>("GET", "/admin/plans");
    expect(list.body.items.map((plan) => plan.id)).toEqual(["gold"]);
  });

  it("updates with If-Match, and refuses a stale If-Match with 409", async () => {
    const updated = await h.admin("PATCH", "/admin/plans/gold", { description: "For production" }, { "if-match": '"0"' });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ version: 1, description: "For production" });

    const stale = await h.admin("PATCH", "/admin/plans/gold", { description: "Lost update" }, { "if-match": '"0"' });
    expect(stale.status).toBe(409);
    expect(stale.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(stale.body).toMatchObject({ code: "version-conflict", currentVersion: 1, status: 409 });
    expect((await h.admin("GET", "/admin/plans/gold")).body.description).toBe("For production");
  });

  it("takes a plan's billing rules on create and update (a PlanUpdated the projectors follow), and refuses an unknown rule", async () => {
    const created = await h.admin("POST", "/admin/plans", { id: "metered", name: "Metered", billing: { upstreamServerErrors: true, cacheHits: false } });
    expect(created.status).toBe(201);
    expect(created.body.billing).toEqual({ upstreamServerErrors: true, cacheHits: false });
    const updated = await h.admin("PATCH", "/admin/plans/metered", { billing: { fallbacks: true } }, { "if-match": '"0"' });
    expect(updated.body).toMatchObject({ version: 1, billing: { fallbacks: true } });
    const typo = await h.admin("PATCH", "/admin/plans/metered", { billing: { cacheHit: false } }, { "if-match": '"1"' });
    expect(typo.status).toBe(400);
    expect(JSON.stringify(typo.body)).toContain("billing");
    expect((await h.admin("PATCH", "/admin/plans/metered", { billing: null }, { "if-match": '"1"' })).body).toMatchObject({ version: 2, billing: null });
  });

  it("registers a consumer, issues a key shown once, lists it by prefix only", async () => {
    expect((await h.admin("POST", "/admin/consumers", { id: "acme", name: "Acme", email: "ops@acme.test" })).status).toBe(201);
    const issued = await h.admin<{ credential: Json; secret: string }>("POST", "/admin/consumers/acme/api-keys", { id: "acme-ci", name: "ci" });
    expect(issued.status).toBe(201);
    expect(issued.body.secret).toMatch(/^tg_[0-9A-Za-z]{49}$/);
    expect(issued.body.credential).toMatchObject({ id: "acme-ci", kind: "api-key", status: "active", consumerId: "acme" });

    const listed = await h.admin<{ items: Json[] }>("GET", "/admin/credentials?consumerId=acme");
    expect(listed.body.items).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain(issued.body.secret);
    expect(listed.body.items[0]).toMatchObject({ keys: [{ prefix: issued.body.secret.slice(0, 11), current: true, expired: false }] });
  });

  it("rotates a key with an overlap window: both keys work until it ends", async () => {
    const before = await h.admin<{ credential: Json; secret: string }>("POST", "/admin/consumers/acme/api-keys", { id: "acme-rot" });
    const rotated = await h.admin<{ credential: { keys: Json[] }; secret: string }>("POST", "/admin/credentials/acme-rot/rotate", { overlapSeconds: 600 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(before.body.secret);
    expect(rotated.body.credential.keys.map((key) => key.current)).toEqual([false, true]);
    for (const key of [before.body.secret, rotated.body.secret]) {
      expect((await h.call("GET", "/consumer/me", { token: key })).status).toBe(200);
    }
    const rotatedNow = await h.admin<{ credential: Json; secret: string }>("POST", "/admin/credentials/acme-rot/rotate", { overlapSeconds: 0 });
    expect((await h.call("GET", "/consumer/me", { token: rotated.body.secret })).status).toBe(401);
    expect((await h.call("GET", "/consumer/me", { token: rotatedNow.body.secret })).status).toBe(200);
  });

  it("revokes a key: it stops working at once", async () => {
    const issued = await h.admin<{ secret: string }>("POST", "/admin/consumers/acme/api-keys", { id: "acme-tmp" });
    expect((await h.call("GET", "/consumer/me", { token: issued.body.secret })).status).toBe(200);
    const revoked = await h.admin("POST", "/admin/credentials/acme-tmp/revoke", { reason: "leaked" });
    expect(revoked.body).toMatchObject({ status: "revoked", version: 1 });
    expect((await h.call("GET", "/consumer/me", { token: issued.body.secret })).status).toBe(401);
  });

  it("runs a subscription through its life", async () => {
    await h.admin("POST", "/admin/plans", { id: "free", name: "Free", public: true });
    const started = await h.admin("POST", "/admin/subscriptions", { id: "acme-gold", consumerId: "acme", planId: "gold" });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ status: "active", planId: "gold" });
    expect((await h.admin("POST", "/admin/subscriptions/acme-gold/suspend", { reason: "unpaid" })).body.status).toBe("suspended");
    expect((await h.admin("POST", "/admin/subscriptions/acme-gold/reactivate")).body.status).toBe("active");
    expect((await h.admin("POST", "/admin/subscriptions/acme-gold/change-plan", { planId: "free" })).body.planId).toBe("free");
    expect((await h.admin("POST", "/admin/subscriptions/acme-gold/cancel")).body.status).toBe("cancelled");
    const listed = await h.admin<{ items: Json[] }>("GET", "/admin/subscriptions?consumerId=acme");
    expect(listed.body.items.map((item) => item.status)).toEqual(["cancelled"]);
  });

  it("maps JWT identities, creates Basic users and issues HMAC secrets, never returning what is stored", async () => {
    const jwt = await h.admin("POST", "/admin/consumers/acme/jwt-identities", { id: "acme-jwt", issuer: "https://idp.test", match: { kind: "claim", claim: "org", value: "acme" } });
    expect(jwt.status).toBe(201);
    const basic = await h.admin("POST", "/admin/consumers/acme/basic-users", { id: "acme-basic", username: "acme", password: "a long enough password" });
    expect(basic.status).toBe(201);
    expect(JSON.stringify(basic.body)).not.toMatch(/password|scrypt|salt/i);
    expect((await h.admin("PUT", "/admin/credentials/acme-basic/password", { password: "another long password" })).body.version).toBe(1);
    const hmac = await h.admin<{ credential: Json; secret: string }>("POST", "/admin/consumers/acme/hmac-secrets", { id: "acme-hmac" });
    expect(hmac.status).toBe(201);
    expect(hmac.body.secret).toMatch(/^tgs_/);
    expect(hmac.body.credential).toMatchObject({ kind: "hmac", encryptionKeyId: "k1" });
    expect(JSON.stringify((await h.admin("GET", "/admin/credentials/acme-hmac")).body)).not.toContain(hmac.body.secret);
  });

  it("defines and removes routes", async () => {
    const defined = await h.admin("PUT", "/admin/routes/demo", { match: { pathPrefix: "/demo" }, upstream: "demo" });
    expect(defined.body).toMatchObject({ id: "demo", match: { pathPrefix: "/demo", hosts: [], methods: [] }, stripPrefix: false, removed: false });
    const same = await h.admin("PUT", "/admin/routes/demo", { match: { pathPrefix: "/demo" }, upstream: "demo" });
    expect(same.body.version).toBe(0);
    expect((await h.admin("DELETE", "/admin/routes/demo")).body.removed).toBe(true);
  });

  it("sets an upstream's targets live with If-Match, resets them, and the audit trail shows who did it", async () => {
    const targets = [
      { url: "http://10.0.0.5:9000", weight: 1 },
      { url: "https://10.0.0.6:9443", weight: 3 },
    ];
    const set = await h.admin("PUT", "/admin/upstreams/orders", { targets });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ id: "orders", version: 0, targets });
    expect(set.headers.get("etag")).toBe('"0"');
    expect((await h.admin("PUT", "/admin/upstreams/orders", { targets })).body.version).toBe(0);
    const stale = await h.admin("PUT", "/admin/upstreams/orders", { targets: [targets[0]] }, { "if-match": '"7"' });
    expect(stale.status).toBe(409);
    const listed = await h.admin<{ items: Json[] }>("GET", "/admin/upstreams");
    expect(listed.body.items).toEqual([expect.objectContaining({ id: "orders", targets })]);
    const reset = await h.admin("DELETE", "/admin/upstreams/orders", undefined, { "if-match": '"0"' });
    expect(reset.body).toMatchObject({ id: "orders", version: 1, targets: null });
    expect((await h.admin("GET", "/admin/upstreams/orders")).body.targets).toBeNull();
    const audit = await h.admin<{ entries: Json[] }>("GET", "/admin/audit?entity=upstream-orders");
    expect(audit.body.entries.map((entry) => [entry.type, entry.actor])).toEqual([
      ["UpstreamTargetsSet", { kind: "admin", id: "ops" }],
      ["UpstreamTargetsReset", { kind: "admin", id: "ops" }],
    ]);
    expect((await h.admin("DELETE", "/admin/upstreams/never-set")).status).toBe(404);
    const duplicate = await h.admin("PUT", "/admin/upstreams/orders", { targets: [targets[0], targets[0]] });
    expect(duplicate.status).toBe(400);
    const withPath = await h.admin("PUT", "/admin/upstreams/orders", { targets: [{ url: "http://10.0.0.5:9000/api", weight: 1 }] });
    expect(withPath.status).toBe(400);
    expect((await h.admin("PUT", "/admin/upstreams/orders", { targets: [{ url: "http://10.0.0.5:9000", weight: 0 }] })).status).toBe(400);
  });

  it("serves an OpenAPI 3.1 document listing every operation", async () => {
    const response = await fetch(`${h.url}/openapi.json`);
    const document = (await response.json()) as { openapi: string; paths: Record<string, Record<string, { operationId: string }>> };
    expect(document.openapi).toBe("3.1.0");
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
    );
    const declared = h.running.http.endpoints.map((endpoint) => `${endpoint.method.toUpperCase()} ${endpoint.path}`);
    expect(documented.sort()).toEqual(declared.sort());
    for (const expected of [
      "POST /admin/plans",
      "PATCH /admin/plans/:planId",
      "POST /admin/consumers/:consumerId/api-keys",
      "POST /admin/credentials/:credentialId/rotate",
      "POST /admin/subscriptions/:subscriptionId/suspend",
      "GET /admin/audit",
      "PUT /admin/upstreams/:name",
      "POST /consumer/api-keys",
      "GET /consumer/usage",
    ]) {
      expect(documented).toContain(expected);
    }
    const createPlan = document.paths["/admin/plans"]!.post as unknown as { requestBody: { content: { "application/json": { schema: { properties: Json } } } } };
    expect(Object.keys(createPlan.requestBody.content["application/json"].schema.properties)).toContain("rateLimits");
  });
});
