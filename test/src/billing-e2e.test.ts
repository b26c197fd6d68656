import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ratePeriod } from "@tollgate/billing-projector";
import { billingStream, quotaWindow, streams, type PlanPricing } from "@tollgate/events";
import { SqliteEventStore } from "@tollgate/eventstore";
import Database from "better-sqlite3";
import Stripe from "stripe";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startControlPlaneProcess, type ControlPlaneProcess } from "./support/control-plane-process.js";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.js";
import { StripeStandIn } from "./support/stripe-stand-in.js";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.js";
import { waitFor } from "./support/wait-for.js";

type Json = Record<string, unknown>;

const projectorMain = fileURLToPath(new URL("../../services/billing-projector/dist/main.js", import.meta.url));
const adminToken = "e2e-billing-admin-token-4f2a8c1d9e7b";
const SECRET_KEY = "sk_test_tollgate_billing_e2e";
const METER = "api_requests";
const pricing: PlanPricing = { currency: "usd", flatFeeMinor: 1_000, includedUnits: 5, overageUnitPriceMinor: 2, tiers: null };
/** Billable: 2xx through the gateway. */
const N = 12;

interface Line {
  lineId: string;
  kind: string;
  units: number;
  amountMinor: number;
}
interface Preview extends Json {
  countedThroughPosition: string | null;
  units: number;
  totalMinor: number;
  lines: Line[];
}
interface Reconciliation extends Json {
  status: string;
  totals: Record<string, number>;
  lines: (Json & { log: Record<string, number>; differences: string[] })[];
}

/**
 * Billing end to end, on real processes: the control plane, a gateway, the billing
 * projector and the Stripe stand-in (the real stripe SDK talks to it), over one SQLite log.
 * A consumer on a paid plan (linked to its Stripe customer by the `stripeCustomerId`
 * label) makes N billable and M non-billable requests through the gateway; then the
 * stand-in's meter total, the invoice preview, the receipts and the reconciliation (API
 * and CLI) are checked against N, and a late event and a re-rating are run on top.
 */
describe("billing end to end: gateway → log → billing projector → Stripe stand-in, previews and reconciliation", () => {
  let stand: StripeStandIn;
  let ok: UpstreamServer;
  let failing: UpstreamServer;
  let cp: ControlPlaneProcess;
  let gateway: GatewayProcess;
  let projector: ChildProcess;
  const projectorLines: string[] = [];
  const client = new Agent({ connections: 8 });
  let billingDir: string;
  let billingFile: string;
  let key: string;
  let customerId: string;
  const billableIds: string[] = [];
  let nonBillable = 0;
  const month = new Date().toISOString().slice(0, 7);

  const admin = async <T = Json>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${cp.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as T };
  };
  const call = async (path: string, apiKey: string | null): Promise<{ status: number; requestId: string }> => {
    const response = await request(`${gateway.url}${path}`, { headers: apiKey === null ? {} : { "x-api-key": apiKey }, dispatcher: client });
    await response.body.text();
    return { status: response.statusCode, requestId: String(response.headers["x-request-id"]) };
  };
  const ledgerSnapshot = (): Json[] => {
    const db = new Database(billingFile, { readonly: true, fileMustExist: true });
    try {
      return [
        ...db.prepare("SELECT * FROM billing_reports ORDER BY rowid").all(),
        ...db.prepare("SELECT * FROM billing_usage ORDER BY subscription_id, period_start, origin_period_start").all(),
      ] as Json[];
    } finally {
      db.close();
    }
  };
  const eventsHead = (): number => {
    const db = new Database(cp.eventsFile, { readonly: true, fileMustExist: true });
    try {
      return db.prepare<[], number>("SELECT COALESCE(MAX(position), 0) FROM events").pluck().get()!;
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    stand = await StripeStandIn.start();
    ok = await startUpstream();
    failing = await startUpstream((_request, response) => {
      response.writeHead(503, { "content-type": "text/plain", "content-length": "2" });
      response.end("no");
    });
    // The projector's file, which the control plane reads (read-only) for the billing views.
    billingDir = mkdtempSync(join(tmpdir(), "tollgate-billing-e2e-"));
    billingFile = join(billingDir, "billing.db");
    cp = await startControlPlaneProcess({ adminTokens: [{ name: "ops", token: adminToken, access: "write" }], billingStore: { file: billingFile } });
    gateway = await startGatewayProcess({
      config: {
        gatewayId: "gw-billing",
        eventStore: { kind: "sqlite", file: cp.eventsFile },
        upstreams: { orders: { targets: [ok.url] }, broken: { targets: [failing.url] } },
        routes: [
          { id: "orders", match: { pathPrefix: "/orders" }, upstream: "orders", auth: [{ type: "api-key" }] },
          { id: "broken", match: { pathPrefix: "/broken" }, upstream: "broken", auth: [{ type: "api-key" }] },
        ],
      },
    });
    const configFile = join(cp.dir, "billing-projector.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        eventStore: { kind: "sqlite", file: cp.eventsFile },
        store: { file: billingFile },
        stripe: { ...stand.sdkOptions, timeoutMs: 2_000 },
        reporter: { pollIntervalMs: 100, backoffInitialMs: 50, backoffMaxMs: 200 },
        // A 1 s grace window: the previous month is closed at once, also in the first hour of a month.
        periods: { graceMs: 1_000, checkIntervalMs: 200 },
        runner: { maxBatchSize: 200, maxBatchWaitMs: 20 },
        status: { port: 0 },
      }),
    );
    projector = spawn(process.execPath, [projectorMain, "--config", configFile], { env: { ...process.env, STRIPE_SECRET_KEY: SECRET_KEY }, stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [projector.stdout!, projector.stderr!]) createInterface({ input: stream }).on("line", (line) => projectorLines.push(line));
    await waitFor("the billing projector to listen", () => projectorLines.some((line) => line.includes('"msg":"listening"')), 20_000);

    const stripe = new Stripe(SECRET_KEY, { ...stand.sdkOptions, maxNetworkRetries: 0 });
    customerId = (await stripe.customers.create({ name: "acme" })).id;
    // A paid plan with a Stripe meter and pricing, and no Stripe Price: the customer comes from the consumer's
    // stripeCustomerId label, so this test does not depend on the projector's Stripe customer/subscription sync.
    expect((await admin("POST", "/admin/plans", { id: "paid", name: "Paid", public: true, routes: ["*"], price: { stripePriceId: null, stripeMeterEventName: METER }, pricing })).status).toBe(201);
    expect((await admin("POST", "/admin/consumers", { id: "acme", name: "Acme", labels: { stripeCustomerId: customerId } })).status).toBe(201);
    expect((await admin("POST", "/admin/subscriptions", { id: "acme-paid", consumerId: "acme", planId: "paid" })).status).toBe(201);
    key = (await admin<{ secret: string }>("POST", "/admin/consumers/acme/api-keys", { id: "acme-key" })).body.secret;
    // Probes on the broken route until the gateway knows the key: each is a non-billable request event
    // (a 401 before it knows the key, an upstream 503 after).
    await waitFor("the gateway to know the key", async () => {
      const answer = await call("/broken/probe", key);
      nonBillable += 1;
      return answer.status !== 401;
    });
  }, 120_000);

  afterAll(async () => {
    if (projector && projector.exitCode === null && projector.signalCode === null) {
      const exited = once(projector, "exit");
      projector.kill("SIGTERM");
      await exited;
    }
    await gateway?.cleanup();
    await cp?.cleanup();
    await ok?.close();
    await failing?.close();
    await stand?.close();
    await client.close();
    if (billingDir) rmSync(billingDir, { recursive: true, force: true });
  });

  it("N billable and M non-billable requests: Stripe's meter total is N, the preview is the plan's price for N, and the month balances", async () => {
    for (let i = 0; i < N; i += 1) {
      const answer = await call(`/orders/${i}`, key);
      expect(answer.status).toBe(200);
      billableIds.push(answer.requestId);
    }
    for (let i = 0; i < 4; i += 1) {
      expect((await call(`/broken/${i}`, key)).status).toBeGreaterThanOrEqual(500);
      nonBillable += 1;
    }
    for (let i = 0; i < 3; i += 1) {
      expect((await call(`/orders/anonymous-${i}`, null)).status).toBe(401);
      nonBillable += 1;
    }
    expect(nonBillable).toBeGreaterThanOrEqual(8);
    // The log holds one event per request sent: N billable, M not.
    const requestEvents = (): { type: string; status: number; path: string }[] => {
      const db = new Database(cp.eventsFile, { readonly: true, fileMustExist: true });
      try {
        return db
          .prepare<[], { type: string; status: number; path: string }>("SELECT type, json_extract(data, '$.status') AS status, json_extract(data, '$.path') AS path FROM events WHERE stream_id LIKE 'requests-%' ORDER BY position")
          .all();
      } finally {
        db.close();
      }
    };
    await waitFor(`every request event in the log (expected ${N} + ${nonBillable})`, () => requestEvents().length === N + nonBillable);

    await waitFor("the stand-in's meter total to reach N", () => stand.meterTotal(METER) >= N, 30_000);
    let report: Reconciliation | undefined;
    await waitFor(
      "the month to balance",
      async () => {
        report = (await admin<Reconciliation>("GET", `/admin/billing/reconciliation?period=${month}`)).body;
        return report.status === "balanced";
      },
      30_000,
    );
    expect(stand.meterTotal(METER)).toBe(N);
    expect(stand.meterTotal(METER, customerId)).toBe(N);
    expect(report!.totals).toMatchObject({ billable: N, onTime: N, billedInPeriod: N, reported: N, pending: 0, rejected: 0, unplanned: 0 });
    expect(report!.lines).toEqual([expect.objectContaining({ subscriptionId: "acme-paid", meterEventName: METER, recordedInLog: N, differences: [] })]);

    const preview = await admin<Preview>("GET", "/admin/subscriptions/acme-paid/invoice-preview");
    expect(preview.status).toBe(200);
    // 1000 flat + 5 included + 7 × 2 = 1014.
    expect(preview.body).toMatchObject({ units: N, adjustmentUnits: 0, currency: "usd", totalMinor: ratePeriod(pricing, N).totalMinor });
    expect(preview.body.totalMinor).toBe(1_014);
    const mine = await fetch(`${cp.url}/consumer/invoice-preview`, { headers: { "x-api-key": key } });
    // The same preview, except for the projector's checkpoint, which may have moved on
    // between the two calls (it also passes events that are not requests, and saves its
    // position in its own time).
    const [own] = ((await mine.json()) as { items: Preview[] }).items;
    const { countedThroughPosition: adminPosition, ...adminPreview } = preview.body;
    const { countedThroughPosition: ownPosition, ...ownPreview } = own!;
    expect(ownPreview).toEqual(adminPreview);
    expect(BigInt(ownPosition ?? "0")).toBeGreaterThanOrEqual(BigInt(adminPosition ?? "0"));

    // The receipts of the included and overage lines are exactly the billable requests, in order.
    const receipt = async (lineId: string) =>
      (await admin<{ items: { requestId: string }[] }>("GET", `/admin/subscriptions/acme-paid/invoice-preview/lines/${encodeURIComponent(lineId)}/requests?limit=100`)).body.items.map((item) => item.requestId);
    expect([...(await receipt(`${METER}/included`)), ...(await receipt(`${METER}/overage`))]).toEqual(billableIds);

    // The CLI says the same, from the files.
    const cli = await runCli(["billing", "reconcile", "--period", month, "--store", cp.eventsFile, "--billing-store", billingFile, "--json"]);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ status: "balanced", totals: report!.totals });
  });

  it("a late event after period close becomes an adjustment in the next period, and the reconciliation report shows it", async () => {
    const previousMonthStart = quotaWindow(quotaWindow(Date.now(), "month").start - 1, "month").start;
    const previous = new Date(previousMonthStart).toISOString().slice(0, 7);
    // The projector closes the previous month (its grace window has passed) for the new subscription.
    const currentMonthStart = new Date(quotaWindow(Date.now(), "month").start).toISOString();
    await waitFor("the previous period to close", () => {
      const db = new Database(cp.eventsFile, { readonly: true, fileMustExist: true });
      try {
        return db
          .prepare("SELECT 1 FROM events WHERE stream_id = ? AND type = 'BillingPeriodClosed' AND json_extract(data, '$.periodEnd') = ?")
          .get(billingStream("acme-paid"), currentMonthStart) !== undefined;
      } finally {
        db.close();
      }
    });
    // A request of the previous month reaches the log now (a gateway's spool drained late).
    const store = SqliteEventStore.open({ file: cp.eventsFile, synchronous: "normal", busyTimeoutMs: 5_000 });
    const lateId = `late-${randomUUID()}`;
    try {
      await store.append(streams.requests("gw-late"), [
        {
          id: randomUUID(),
          type: "RequestCompleted",
          version: 1,
          data: {
            requestId: lateId, gatewayId: "gw-late", startedAt: new Date(previousMonthStart + 5 * 86_400_000).toISOString(), durationMs: 1, routeId: "orders",
            method: "GET", path: "/orders/late", routeTemplate: "/orders", status: 200, clientIp: "127.0.0.1", bytesIn: 0, bytesOut: 2, controlPlaneVersion: null,
            consumerId: "acme", credentialId: "acme-key", planId: "paid", subscriptionId: "acme-paid", upstream: ok.url, attempts: 1, upstreamLatencyMs: 1, cacheStatus: "miss",
          },
        },
      ]);
    } finally {
      await store.close();
    }
    await waitFor("the late unit to reach Stripe", () => stand.meterTotal(METER) === N + 1, 30_000);
    // Reported in the current period, as an adjustment of the closed one.
    const adjustment = stand.meterEvents().find((event) => event.identifier.startsWith("tga_"));
    expect(adjustment).toMatchObject({ value: 1, stripeCustomerId: customerId });

    let late: Reconciliation | undefined;
    await waitFor("the previous month's report to show the late unit", async () => {
      late = (await admin<Reconciliation>("GET", `/admin/billing/reconciliation?period=${previous}`)).body;
      return late.totals.lateOut === 1;
    });
    expect(late!.status).toBe("explained");
    expect(late!.lines[0]).toMatchObject({ log: { onTime: 0, lateOut: 1, lateIn: 0, notYetProjected: 0 }, projection: { units: 0, adjustedOut: 1, adjustedIn: 0 } });
    expect(late!.lines[0]!.differences).toEqual(["1 units arrived after the period closed: reported as adjustments in a later period"]);
    const current = (await admin<Reconciliation>("GET", `/admin/billing/reconciliation?period=${month}`)).body;
    expect(current.totals).toMatchObject({ onTime: N, lateIn: 1, billedInPeriod: N + 1, reported: N + 1, pending: 0, unplanned: 0 });
    expect(current.status).toBe("explained");

    const preview = (await admin<Preview>("GET", "/admin/subscriptions/acme-paid/invoice-preview")).body;
    const lateLine = preview.lines.find((line) => line.kind === "adjustment")!;
    expect(lateLine).toMatchObject({ units: 1, amountMinor: 2, lineId: `${METER}/adjustment/${new Date(previousMonthStart).toISOString()}` });
    expect(preview.totalMinor).toBe(ratePeriod(pricing, N + 1).totalMinor);
    const receipt = await admin<{ items: { requestId: string }[] }>("GET", `/admin/subscriptions/acme-paid/invoice-preview/lines/${encodeURIComponent(lateLine.lineId)}/requests`);
    expect(receipt.body.items.map((item) => item.requestId)).toEqual([lateId]);
  });

  it("re-rating the month with a changed price prints the difference and changes nothing that was reported", async () => {
    const before = { ledger: ledgerSnapshot(), head: eventsHead(), stripeRequests: stand.requests.length, total: stand.meterTotal(METER) };
    const pricingFile = join(cp.dir, "corrected-pricing.json");
    writeFileSync(pricingFile, JSON.stringify({ ...pricing, overageUnitPriceMinor: 3 }));
    const units = before.total;
    const difference = ratePeriod({ ...pricing, overageUnitPriceMinor: 3 }, units).totalMinor - ratePeriod(pricing, units).totalMinor;
    expect(difference).toBe(units - pricing.includedUnits);

    const cli = await runCli(["billing", "rerate", "--period", month, "--pricing", pricingFile, "--billing-store", billingFile]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`acme-paid`);
    expect(cli.stdout).toContain(`difference +${difference}`);
    const api = await admin<Json & { totals: Record<string, number> }>("POST", "/admin/billing/rerate", { period: month, pricing: { ...pricing, overageUnitPriceMinor: 3 } });
    expect(api.status).toBe(200);
    expect(api.body.totals).toEqual({ originalMinor: ratePeriod(pricing, units).totalMinor, correctedMinor: ratePeriod(pricing, units).totalMinor + difference, differenceMinor: difference });

    expect({ ledger: ledgerSnapshot(), head: eventsHead(), stripeRequests: stand.requests.length, total: stand.meterTotal(METER) }).toEqual(before);
  });
});
