import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/control-plane-harness.js";

type Json = Record<string, unknown>;

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("consumer self-service API", () => {
  let h: Harness;
  let acmeKey: string;
  let otherKey: string;

  beforeAll(async () => {
    h = await startHarness();
    await h.admin("POST", "/admin/plans", { id: "free", name: "Free", public: true });
    await h.admin("POST", "/admin/plans", { id: "gold", name: "Gold", public: true });
    await h.admin("POST", "/admin/plans", { id: "internal", name: "Internal", public: false });
    await h.admin("POST", "/admin/consumers", { id: "acme", name: "Acme" });
    await h.admin("POST", "/admin/consumers", { id: "other", name: "Other" });
    acmeKey = (await h.admin<{ secret: string }>("POST", "/admin/consumers/acme/api-keys", { id: "acme-bootstrap" })).body.secret;
    otherKey = (await h.admin<{ secret: string }>("POST", "/admin/consumers/other/api-keys", { id: "other-key" })).body.secret;
  });
  afterAll(() => h.close());

  const as = (key: string) => ({
    call: <T = Json>(method: string, path: string, body?: unknown) => h.call<T>(method, path, { token: key, ...(body !== undefined ? { body } : {}) }),
  });

  it("authenticates with Authorization: Bearer or X-Api-Key, and refuses anything else with 401", async () => {
    expect((await as(acmeKey).call("GET", "/consumer/me")).body).toMatchObject({ id: "acme", name: "Acme" });
    expect((await h.call("GET", "/consumer/me", { token: null, headers: { "x-api-key": acmeKey } })).status).toBe(200);
    const missing = await h.call("GET", "/consumer/me", { token: null });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="tollgate-consumer"');
    expect((await h.call("GET", "/consumer/me", { token: `${acmeKey.slice(0, -1)}0` })).status).toBe(401);
  });

  it("lists only public, unarchived plans", async () => {
    const plans = await as(acmeKey).call<{ items: Json[] }>("GET", "/consumer/plans");
    expect(plans.body.items.map((plan) => plan.id)).toEqual(["free", "gold"]);
  });

  it("subscribes, changes plan and cancels; a private plan looks missing", async () => {
    const started = await as(acmeKey).call("POST", "/consumer/subscriptions", { planId: "free" });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ consumerId: "acme", planId: "free", status: "active" });
    const id = started.body.id as string;
    expect((await as(acmeKey).call("POST", "/consumer/subscriptions", { planId: "internal" })).status).toBe(422);
    expect((await as(acmeKey).call("POST", `/consumer/subscriptions/${id}/change-plan`, { planId: "internal" })).status).toBe(422);
    expect((await as(acmeKey).call("POST", `/consumer/subscriptions/${id}/change-plan`, { planId: "gold" })).body.planId).toBe("gold");
    expect((await as(acmeKey).call("POST", `/consumer/subscriptions/${id}/cancel`, {})).body.status).toBe("cancelled");
    expect((await as(acmeKey).call<{ items: Json[] }>("GET", "/consumer/subscriptions")).body.items).toHaveLength(1);

    const audit = await h.admin<{ entries: { actor: Json; type: string }[] }>("GET", `/admin/audit?entity=subscription-${id}`);
    expect(audit.body.entries.map((entry) => [entry.type, entry.actor])).toEqual([
      ["SubscriptionStarted", { kind: "consumer", id: "acme" }],
      ["SubscriptionPlanChanged", { kind: "consumer", id: "acme" }],
      ["SubscriptionCancelled", { kind: "consumer", id: "acme" }],
    ]);
  });

  it("cannot see or touch another consumer's subscriptions or keys: they look missing", async () => {
    const theirs = await h.call("POST", "/consumer/subscriptions", { token: otherKey, body: { planId: "free" } });
    const id = theirs.body.id as string;
    expect((await as(acmeKey).call("POST", `/consumer/subscriptions/${id}/cancel`, {})).status).toBe(404);
    expect((await as(acmeKey).call("POST", `/consumer/subscriptions/${id}/change-plan`, { planId: "gold" })).status).toBe(404);
    expect((await as(acmeKey).call("POST", "/consumer/api-keys/other-key/revoke", {})).status).toBe(404);
    expect((await h.call("GET", "/consumer/me", { token: otherKey })).status).toBe(200);
  });

  it("creates its own keys (shown once), lists them by prefix, and revokes them", async () => {
    const created = await as(acmeKey).call<{ credential: Json; secret: string }>("POST", "/consumer/api-keys", { name: "laptop" });
    expect(created.status).toBe(201);
    const listed = await as(created.body.secret).call<{ items: Json[] }>("GET", "/consumer/api-keys");
    expect(listed.body.items.map((item) => item.id)).toEqual(expect.arrayContaining(["acme-bootstrap", created.body.credential.id]));
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    // Revoked with itself: a consumer may revoke the very key it is calling with.
    const revoked = await as(created.body.secret).call("POST", `/consumer/api-keys/${created.body.credential.id as string}/revoke`, {});
    expect(revoked.body.status).toBe("revoked");
    expect((await as(created.body.secret).call("GET", "/consumer/me")).status).toBe(401);
    const audit = await h.admin<{ entries: { actor: Json; type: string }[] }>("GET", `/admin/audit?entity=credential-${created.body.credential.id as string}`);
    expect(audit.body.entries.map((entry) => entry.actor)).toEqual([
      { kind: "consumer", id: "acme" },
      { kind: "consumer", id: "acme" },
    ]);
  });

  it("reads its own usage, counted from request events in the log", async () => {
    const base = {
      gatewayId: "gw-test",
      startedAt: "2026-11-26T10:00:00.000Z",
      durationMs: 1,
      routeId: "demo",
      method: "GET",
      path: "/demo",
      routeTemplate: "/demo",
      clientIp: "127.0.0.1",
      bytesIn: 0,
      bytesOut: 2,
      controlPlaneVersion: null,
      credentialId: null,
      planId: null,
      subscriptionId: null,
    };
    const completed = { ...base, status: 200, upstream: "http://u", attempts: 1, upstreamLatencyMs: 1, cacheStatus: "none" };
    await h.store.append("requests-gw-test", [
      ...[1, 2, 3].map((n) => ({ id: `acme-${n}`, type: "RequestCompleted", version: 1, data: { ...completed, requestId: `a${n}`, consumerId: "acme" } })),
      { id: "acme-4", type: "RequestRejected", version: 1, data: { ...base, requestId: "a4", consumerId: "acme", status: 429, stage: "quota", reason: "quota", limit: "monthly" } },
      { id: "other-1", type: "RequestCompleted", version: 1, data: { ...completed, requestId: "o1", consumerId: "other" } },
    ]);
    const usage = await waitFor("usage to count the appended requests", async () => {
      const response = await as(acmeKey).call<{ requests: { total: number } }>("GET", "/consumer/usage");
      return response.body.requests.total === 4 && response.body;
    });
    expect(usage).toMatchObject({ consumerId: "acme", requests: { total: 4, completed: 3, rejected: 1, failed: 0 } });
  });
});
