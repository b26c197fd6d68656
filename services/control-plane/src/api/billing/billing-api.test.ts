import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createBillingProjector, SqliteBillingStore } from "@tollgate/billing-projector";
import { defaultBillingRules, layerBillingRules } from "@tollgate/events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readToken, startHarness, type Harness } from "../../test-support/control-plane-harness.js";

type Json = Record<string, unknown>;
interface Line {
  lineId: string;
  kind: string;
  units: number;
  amountMinor: number;
}

/**
 * The billing views over a real billing.db, written by the billing projector's own store
 * from the harness's log (as the projector process would). test/src/billing-e2e.test.ts
 * runs them against the real processes.
 */
describe("billing endpoints", () => {
  let h: Harness;
  let billingFile: string;
  let acmeKey: string;
  let otherKey: string;
  const requestIds: string[] = [];

  const project = async (): Promise<void> => {
    const store = SqliteBillingStore.open({ file: billingFile, synchronous: "normal", name: "billing-projector", rulesFor: () => defaultBillingRules });
    try {
      const projector = createBillingProjector({ store });
      for (;;) {
        const batch = await h.store.readAll({ from: (await store.loadCheckpoint()) ?? 0n, limit: 100, filter: projector.filter });
        if (batch.length === 0) return;
        await store.applyBatch(batch, batch.at(-1)!.position);
      }
    } finally {
      store.close();
    }
  };

  beforeAll(async () => {
    h = await startHarness();
    billingFile = join(h.dir, "billing.db");
    await h.restart({ billingStore: { file: billingFile, projectorName: "billing-projector" } });
    await h.admin("POST", "/admin/plans", {
      id: "metered",
      name: "Metered",
      public: true,
      price: { stripePriceId: "price_1", stripeMeterEventName: "api_requests" },
      pricing: { currency: "usd", flatFeeMinor: 500, includedUnits: 3, overageUnitPriceMinor: 2.5 },
    });
    await h.admin("POST", "/admin/consumers", { id: "acme", name: "Acme", labels: { stripeCustomerId: "cus_acme" } });
    await h.admin("POST", "/admin/consumers", { id: "other", name: "Other" });
    await h.admin("POST", "/admin/subscriptions", { id: "acme-metered", consumerId: "acme", planId: "metered" });
    acmeKey = (await h.admin<{ secret: string }>("POST", "/admin/consumers/acme/api-keys", { id: "acme-key" })).body.secret;
    otherKey = (await h.admin<{ secret: string }>("POST", "/admin/consumers/other/api-keys", { id: "other-key" })).body.secret;
  });
  afterAll(() => h.close());

  it("error: before the billing projector has written its file, the views answer 409 invalid-state", async () => {
    expect(existsSync(billingFile)).toBe(false);
    const response = await h.admin<Json>("GET", "/admin/subscriptions/acme-metered/invoice-preview");
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: "invalid-state" });
  });

  it("happy: the preview rates the current period from billing.db; each line's receipt lists its requests", async () => {
    const startedAt = new Date().toISOString();
    for (let i = 0; i < 7; i += 1) {
      const requestId = `req-${i}`;
      requestIds.push(requestId);
      await h.store.append("requests-gw-1", [
        {
          id: randomUUID(),
          type: "RequestCompleted",
          version: 1,
          data: {
            requestId, gatewayId: "gw-1", startedAt, durationMs: 1, routeId: "r", method: "GET", path: "/x", routeTemplate: "/x", status: i === 6 ? 503 : 200,
            clientIp: "127.0.0.1", bytesIn: 0, bytesOut: 1, controlPlaneVersion: null, consumerId: "acme", credentialId: "acme-key", planId: "metered",
            subscriptionId: "acme-metered", upstream: "http://127.0.0.1:9", attempts: 1, upstreamLatencyMs: 1, cacheStatus: "none",
          },
        },
      ]);
    }
    await project();
    const response = await h.call<Json & { lines: Line[] }>("GET", "/admin/subscriptions/acme-metered/invoice-preview", { token: readToken });
    expect(response.status).toBe(200);
    // 6 billable (the 503 is not): flat fee 500, 3 included, 3 × 2.5 overage = 507.5 → 508.
    expect(response.body).toMatchObject({ subscriptionId: "acme-metered", planId: "metered", currency: "usd", units: 6, adjustmentUnits: 0, totalMinor: 508 });
    expect(response.body.lines.map((line) => [line.lineId, line.units, line.amountMinor])).toEqual([
      ["api_requests/flat-fee", 0, 500],
      ["api_requests/included", 3, 0],
      ["api_requests/overage", 3, 7.5],
    ]);

    const first = await h.admin<Json & { items: { requestId: string; position: string }[]; nextCursor: string | null }>(
      "GET",
      `/admin/subscriptions/acme-metered/invoice-preview/lines/${encodeURIComponent("api_requests/overage")}/requests?limit=2`,
    );
    expect(first.status).toBe(200);
    expect(first.body.items.map((item) => item.requestId)).toEqual(["req-3", "req-4"]);
    expect(first.body.nextCursor).toBe("2");
    const second = await h.admin<Json & { items: { requestId: string }[]; nextCursor: string | null }>(
      "GET",
      `/admin/subscriptions/acme-metered/invoice-preview/lines/${encodeURIComponent("api_requests/overage")}/requests?limit=2&cursor=2`,
    );
    expect(second.body.items.map((item) => item.requestId)).toEqual(["req-5"]);
    expect(second.body.nextCursor).toBeNull();
    expect((await h.admin("GET", `/admin/subscriptions/acme-metered/invoice-preview/lines/nope/requests`)).status).toBe(404);
  });

  it("happy: the consumer sees the previews of its own subscriptions, the same as the admin", async () => {
    const mine = await h.call<{ items: Json[] }>("GET", "/consumer/invoice-preview", { token: acmeKey });
    expect(mine.status).toBe(200);
    const admin = await h.admin<Json>("GET", "/admin/subscriptions/acme-metered/invoice-preview");
    expect(mine.body.items).toEqual([admin.body]);
    expect((await h.call<{ items: Json[] }>("GET", "/consumer/invoice-preview", { token: otherKey })).body.items).toEqual([]);
  });

  it("happy: the reconciliation recounts the log and explains the unreported units; re-rating is a dry run", async () => {
    const month = new Date().toISOString().slice(0, 7);
    const report = await h.admin<Json & { lines: Json[] }>("GET", `/admin/billing/reconciliation?period=${month}`);
    expect(report.status).toBe(200);
    expect(report.body.status).toBe("explained");
    expect(report.body.lines).toEqual([
      expect.objectContaining({
        subscriptionId: "acme-metered",
        log: { onTime: 6, lateOut: 0, lateIn: 0, notYetProjected: 0 },
        projection: { units: 6, adjustedOut: 0, adjustedIn: 0 },
        ledger: { reported: 0, pending: 0, rejected: 0, unplanned: 6 },
        differences: ["6 units not reported yet (no Stripe key or customer yet, or not planned yet)"],
      }),
    ]);

    const before = readFileSync(billingFile);
    const head = await h.store.headPosition();
    const rerated = await h.call<Json>("POST", "/admin/billing/rerate", {
      token: readToken,
      body: { period: month, pricing: { currency: "usd", flatFeeMinor: 500, includedUnits: 3, overageUnitPriceMinor: 4 } },
    });
    expect(rerated.status).toBe(200);
    expect(rerated.body).toMatchObject({ dryRun: true, totals: { originalMinor: 508, correctedMinor: 512, differenceMinor: 4 } });
    expect(readFileSync(billingFile).equals(before)).toBe(true);
    expect(await h.store.headPosition()).toBe(head);
  });

  it("error and security: a bad month is 400, and the admin views need an admin token", async () => {
    expect((await h.admin("GET", "/admin/billing/reconciliation?period=2026-13")).status).toBe(400);
    expect((await h.call("GET", "/admin/billing/reconciliation?period=2026-11", { token: acmeKey })).status).toBe(401);
    expect((await h.call("GET", "/admin/subscriptions/acme-metered/invoice-preview", { token: acmeKey })).status).toBe(401);
    expect((await h.call("GET", "/consumer/invoice-preview", { token: null })).status).toBe(401);
  });
});

describe("billing endpoints: a WebSocket session billed per message", () => {
  let h: Harness;
  let billingFile: string;

  beforeAll(async () => {
    h = await startHarness();
    billingFile = join(h.dir, "billing.db");
    await h.restart({ billingStore: { file: billingFile, projectorName: "billing-projector" } });
    await h.admin("POST", "/admin/plans", {
      id: "streaming",
      name: "Streaming",
      public: true,
      price: { stripePriceId: "price_2", stripeMeterEventName: "ws_messages" },
      pricing: { currency: "usd", flatFeeMinor: 0, includedUnits: 5, overageUnitPriceMinor: 1 },
      billing: { websocket: "per-message" },
    });
    await h.admin("POST", "/admin/consumers", { id: "acme", name: "Acme" });
    await h.admin("POST", "/admin/subscriptions", { id: "acme-streaming", consumerId: "acme", planId: "streaming" });
  });
  afterAll(() => h.close());

  it("happy: receipts page by units; a session straddling the included line and a page is listed with its share on each", async () => {
    const startedAt = new Date().toISOString();
    const base = {
      gatewayId: "gw-1", startedAt, durationMs: 1, routeId: "r", method: "GET", path: "/x", routeTemplate: "/x", clientIp: "127.0.0.1", bytesIn: 0, bytesOut: 1,
      controlPlaneVersion: null, consumerId: "acme", credentialId: "acme-key", planId: "streaming", subscriptionId: "acme-streaming",
      upstream: "http://127.0.0.1:9", attempts: 1, upstreamLatencyMs: 1, cacheStatus: "none",
    };
    const session = { messagesFromClient: 4, messagesFromUpstream: 3, bytesFromClient: 40, bytesFromUpstream: 30, closeCode: 1000, closedBy: "client" };
    // Units 1-2: two plain requests; 3-9: the session's 7 messages; 10: one more request.
    for (const [requestId, data] of [
      ["req-a", { status: 200 }],
      ["req-b", { status: 200 }],
      ["ws-1", { status: 101, websocket: session }],
      ["req-c", { status: 200 }],
    ] as const) {
      await h.store.append("requests-gw-1", [{ id: randomUUID(), type: "RequestCompleted", version: 1, data: { ...base, requestId, ...data } }]);
    }
    const store = SqliteBillingStore.open({ file: billingFile, synchronous: "normal", name: "billing-projector", rulesFor: (_planId, planRules) => layerBillingRules(defaultBillingRules, planRules) });
    try {
      const projector = createBillingProjector({ store });
      const batch = await h.store.readAll({ from: 0n, limit: 1_000, filter: projector.filter });
      await store.applyBatch(batch, batch.at(-1)!.position);
    } finally {
      store.close();
    }
    const preview = await h.admin<Json & { lines: Line[] }>("GET", "/admin/subscriptions/acme-streaming/invoice-preview");
    expect(preview.body).toMatchObject({ units: 10, totalMinor: 5 });
    type Page = Json & { items: { requestId: string; units: number; requestUnits: number }[]; nextCursor: string | null };
    const page = async (line: string, query: string): Promise<Page> =>
      (await h.admin<Page>("GET", `/admin/subscriptions/acme-streaming/invoice-preview/lines/${encodeURIComponent(line)}/requests?${query}`)).body;
    const included = await page("ws_messages/included", "limit=10");
    expect(included.items.map((item) => [item.requestId, item.units, item.requestUnits])).toEqual([
      ["req-a", 1, 1],
      ["req-b", 1, 1],
      ["ws-1", 3, 7],
    ]);
    expect(included.nextCursor).toBeNull();
    // The overage line holds units 6-10: 4 of the session's, then req-c.
    const first = await page("ws_messages/overage", "limit=1");
    expect(first.items.map((item) => [item.requestId, item.units])).toEqual([["ws-1", 4]]);
    expect(first.nextCursor).toBe("4");
    const second = await page("ws_messages/overage", `limit=1&cursor=${first.nextCursor}`);
    expect(second.items.map((item) => [item.requestId, item.units])).toEqual([["req-c", 1]]);
    expect(second.nextCursor).toBeNull();
  });
});
