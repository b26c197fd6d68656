import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readToken, startHarness, type Harness } from "../test-support/control-plane-harness.js";

type Json = Record<string, unknown>;

/**
 * The usage endpoints' contract and scoping. The counts themselves come from the quota
 * projector's file; with none written yet they read as zero, `projected: false`.
 * test/src/quota-usage-api.test.ts runs them against the real projector.
 */
describe("quota usage endpoints", () => {
  let h: Harness;
  let acmeKey: string;
  let otherKey: string;

  beforeAll(async () => {
    h = await startHarness();
    await h.restart({ quotaStore: { file: join(h.dir, "quota-projector.db"), projectorName: "quota-projector" } });
    await h.admin("POST", "/admin/plans", { id: "daily", name: "Daily", public: true, quota: { limit: 50, period: "day", enforcement: "hard" } });
    await h.admin("POST", "/admin/consumers", { id: "acme", name: "Acme" });
    await h.admin("POST", "/admin/consumers", { id: "other", name: "Other" });
    await h.admin("POST", "/admin/subscriptions", { id: "acme-daily", consumerId: "acme", planId: "daily", billingAnchor: "2025-01-10T08:30:00.000Z" });
    acmeKey = (await h.admin<{ secret: string }>("POST", "/admin/consumers/acme/api-keys", { id: "acme-key" })).body.secret;
    otherKey = (await h.admin<{ secret: string }>("POST", "/admin/consumers/other/api-keys", { id: "other-key" })).body.secret;
  });
  afterAll(() => h.close());

  it("happy: an admin with read access sees the current anchored period, zero before anything is projected", async () => {
    const response = await h.call<Json>("GET", "/admin/subscriptions/acme-daily/usage", { token: readToken });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      subscriptionId: "acme-daily",
      planId: "daily",
      period: "day",
      billingAnchor: "2025-01-10T08:30:00.000Z",
      quota: { limit: 50, period: "day", enforcement: "hard" },
      requests: 0,
      billable: 0,
      remaining: 50,
      projected: false,
      checkpointPosition: null,
    });
    // The period starts at the anchor's time of day.
    expect(response.body.periodStart).toMatch(/T08:30:00\.000Z$/);
    expect(Date.parse(response.body.periodEnd as string) - Date.parse(response.body.periodStart as string)).toBe(86_400_000);
  });

  it("happy: the consumer sees its own subscription's usage, the same as the admin", async () => {
    const mine = await h.call<Json>("GET", "/consumer/subscriptions/acme-daily/usage", { token: acmeKey });
    expect(mine.status).toBe(200);
    const admin = await h.admin<Json>("GET", "/admin/subscriptions/acme-daily/usage");
    expect(mine.body).toEqual(admin.body);
  });

  it("error: an unknown subscription is 404", async () => {
    expect((await h.admin("GET", "/admin/subscriptions/nope/usage")).status).toBe(404);
    expect((await h.call("GET", "/consumer/subscriptions/nope/usage", { token: acmeKey })).status).toBe(404);
  });

  it("security: another consumer's subscription is not found, and no credential is 401", async () => {
    expect((await h.call("GET", "/consumer/subscriptions/acme-daily/usage", { token: otherKey })).status).toBe(404);
    expect((await h.call("GET", "/consumer/subscriptions/acme-daily/usage", { token: null })).status).toBe(401);
    expect((await h.call("GET", "/admin/subscriptions/acme-daily/usage", { token: null })).status).toBe(401);
  });
});
