import { randomUUID } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { billingStream, quotaWindow, streams, UsageReported } from "@tollgate/events";
import { type EventToAppend, SqliteEventStore } from "@tollgate/eventstore";
import Database from "better-sqlite3";
import Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";
import { StripeStandIn } from "./support/stripe-stand-in.js";
import { spawnJsonLogProcess, type JsonLogProcess } from "./support/json-log-process.js";
import { waitFor } from "./support/wait-for.js";

/** The built projector; `npx turbo run build --filter=@tollgate/billing-projector...` builds it. */
const projectorMain = fileURLToPath(new URL("../../services/billing-projector/dist/main.js", import.meta.url));

const METER = "api_requests";
const SECRET_KEY = "sk_test_tollgate_billing";
const METER_PATH = "/v1/billing/meter_events";
const hourMs = 3_600_000;
const dayMs = 86_400_000;
const actor = { kind: "admin", id: "billing-test" };

type Kind = "ok" | "client-error" | "cache-hit" | "upstream-5xx" | "gateway-failure" | "rate-limited" | "anonymous" | "unmetered-plan";
/** Billable under the default rules on a metered plan: 2xx, 4xx, cache hits. */
const billableKinds: ReadonlySet<Kind> = new Set(["ok", "client-error", "cache-hit"]);
const kinds: Kind[] = ["ok", "ok", "client-error", "cache-hit", "upstream-5xx", "gateway-failure", "rate-limited", "anonymous", "unmetered-plan", "ok"];

interface Seeded {
  eventsFile: string;
  /** Position of the last event the projector reads. */
  last: bigint;
  billable: number;
  nonBillable: number;
  /** Billable units per Stripe customer, counted here independently of the projector. */
  perCustomer: Map<string, number>;
  customers: string[];
}

/**
 * The log, as the control plane and the gateways write it: a metered plan (Stripe meter
 * `api_requests`, with pricing) and an unmetered one; three consumers, each linked to a
 * Stripe customer created at the stand-in; subscriptions on the metered plan (one with a
 * billing anchor 10 days back) and one on the free plan; then request events of every
 * kind over three gateway streams, in the current and the previous service period of
 * each subscription (at most 32 days old, inside Stripe's 35).
 */
async function seedLog(dir: string, stripe: Stripe, requests: number): Promise<Seeded> {
  const eventsFile = join(dir, "events.db");
  const store = SqliteEventStore.open({ file: eventsFile, synchronous: "normal", busyTimeoutMs: 5_000 });
  const event = (type: string, data: Record<string, unknown>): EventToAppend => ({ id: randomUUID(), type, version: 1, data });
  const now = Date.now();
  const anchor = new Date(now - 10 * dayMs).toISOString();
  try {
    const plan = (planId: string, meter: string | null, pricing?: Record<string, unknown>) =>
      event("PlanCreated", {
        planId,
        name: planId,
        description: "",
        public: true,
        rateLimits: [],
        quota: null,
        routes: ["*"],
        scopes: [],
        price: { stripePriceId: meter === null ? null : "price_metered", stripeMeterEventName: meter },
        ...(pricing === undefined ? {} : { pricing }),
        actor,
      });
    await store.append(streams.plan("metered"), [plan("metered", METER, { currency: "usd", flatFeeMinor: 1_000, includedUnits: 100, overageUnitPriceMinor: 0.5 })]);
    await store.append(streams.plan("free"), [plan("free", null)]);

    const subscriptions = [
      { subscriptionId: "sub-a", consumerId: "acme", planId: "metered", billingAnchor: null as string | null },
      { subscriptionId: "sub-b", consumerId: "globex", planId: "metered", billingAnchor: anchor },
      { subscriptionId: "sub-c", consumerId: "initech", planId: "metered", billingAnchor: null },
      { subscriptionId: "sub-free", consumerId: "initech", planId: "free", billingAnchor: null },
    ];
    const customerOf = new Map<string, string>();
    for (const consumerId of ["acme", "globex", "initech"]) {
      const customer = await stripe.customers.create({ name: consumerId, metadata: { consumerId } });
      customerOf.set(consumerId, customer.id);
      await store.append(streams.consumer(consumerId), [
        event("ConsumerRegistered", { consumerId, name: consumerId, email: null, labels: { stripeCustomerId: customer.id }, actor }),
      ]);
    }
    for (const { subscriptionId, consumerId, planId, billingAnchor } of subscriptions) {
      await store.append(streams.subscription(subscriptionId), [
        event("SubscriptionStarted", { subscriptionId, consumerId, planId, ...(billingAnchor === null ? {} : { billingAnchor }), actor }),
      ]);
    }

    let billable = 0;
    let nonBillable = 0;
    const perCustomer = new Map<string, number>();
    for (let n = 0; n < requests; n += 50) {
      const gatewayId = `gw-${(n / 50) % 3}`;
      const batch: EventToAppend[] = [];
      for (let i = n; i < Math.min(n + 50, requests); i++) {
        const kind = kinds[i % kinds.length]!;
        const metered = subscriptions[Math.floor(i / kinds.length) % 3]!;
        const subscription = kind === "anonymous" ? null : kind === "unmetered-plan" ? subscriptions[3]! : metered;
        // Half in the subscription's current period, half in the one before (its last hours).
        const anchorMs = subscription?.billingAnchor ? Date.parse(subscription.billingAnchor) : null;
        const current = quotaWindow(now, "month", anchorMs);
        const startedAt = i % 2 === 0 ? now - hourMs - (i % 600) * 1_000 : current.start - hourMs - (i % 600) * 1_000;
        const base = {
          requestId: `req-${i}`,
          gatewayId,
          startedAt: new Date(startedAt).toISOString(),
          durationMs: 2,
          routeId: "orders",
          method: "GET",
          path: "/orders",
          routeTemplate: "/orders",
          clientIp: "203.0.113.7",
          bytesIn: 0,
          bytesOut: 12,
          controlPlaneVersion: null,
          consumerId: subscription?.consumerId ?? null,
          credentialId: subscription === null ? null : `key-${subscription.consumerId}`,
          planId: subscription?.planId ?? null,
          subscriptionId: subscription?.subscriptionId ?? null,
        };
        const completed = (status: number, cacheStatus: string): EventToAppend =>
          event("RequestCompleted", { ...base, status, upstream: "http://127.0.0.1:9", attempts: 1, upstreamLatencyMs: 1, cacheStatus });
        switch (kind) {
          case "ok":
          case "anonymous":
          case "unmetered-plan":
            batch.push(completed(200, "miss"));
            break;
          case "client-error":
            batch.push(completed(404, "miss"));
            break;
          case "cache-hit":
            batch.push(completed(200, "hit"));
            break;
          case "upstream-5xx":
            batch.push(completed(503, "miss"));
            break;
          case "gateway-failure":
            batch.push(event("RequestFailed", { ...base, status: 502, upstream: "http://127.0.0.1:9", attempts: 2, error: "upstream-error", detail: "refused", fallbackServed: false }));
            break;
          case "rate-limited":
            batch.push(event("RequestRejected", { ...base, status: 429, stage: "rate-limit", reason: "per-second", limit: "per-second" }));
            break;
        }
        if (billableKinds.has(kind)) {
          billable += 1;
          const customer = customerOf.get(metered.consumerId)!;
          perCustomer.set(customer, (perCustomer.get(customer) ?? 0) + 1);
        } else {
          nonBillable += 1;
        }
      }
      await store.append(streams.requests(gatewayId), batch);
    }
    const last = (await store.readLatest(1, { streamPrefixes: ["requests-", "plan-", "subscription-", "consumer-"] })).at(-1)!.position;
    return { eventsFile, last, billable, nonBillable, perCustomer, customers: [...customerOf.values()] };
  } finally {
    await store.close();
  }
}

interface LedgerRow {
  report_id: string;
  subscription_id: string;
  period_start: number;
  from_position: number;
  to_position: number;
  units: number;
  status: string;
}

function readBillingFile(file: string, name = "billing-projector"): { ledger: LedgerRow[]; checkpoint: bigint | null; billable: number } {
  if (!existsSync(file)) return { ledger: [], checkpoint: null, billable: 0 };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const ledger = db.prepare<[], LedgerRow>("SELECT report_id, subscription_id, period_start, from_position, to_position, units, status FROM billing_reports ORDER BY rowid").all();
    const checkpoint = db.prepare<[string], string>("SELECT position FROM checkpoints WHERE name = ?").pluck().get(name);
    const billable = db.prepare<[], number>("SELECT COALESCE(SUM(units), 0) FROM billing_usage").pluck().get() ?? 0;
    return { ledger, checkpoint: checkpoint === undefined ? null : BigInt(checkpoint), billable };
  } catch {
    // The projector has not created its tables yet.
    return { ledger: [], checkpoint: null, billable: 0 };
  } finally {
    db.close();
  }
}

/** The UsageReported events in the log: the billing records. */
function readUsageReported(eventsFile: string): UsageReported["data"][] {
  const db = new Database(eventsFile, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare<[], { stream_id: string; type: string; data: string }>("SELECT stream_id, type, data FROM events WHERE stream_id LIKE 'billing-%' AND type = 'UsageReported' ORDER BY position")
      .all()
      .map((row) => {
        const parsed = UsageReported.parse({ type: row.type, version: 1, data: JSON.parse(row.data) as unknown }).data;
        expect(row.stream_id).toBe(billingStream(parsed.subscriptionId));
        return parsed;
      });
  } finally {
    db.close();
  }
}

function startProjector(configFile: string, env: NodeJS.ProcessEnv): JsonLogProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (env.STRIPE_SECRET_KEY === undefined) delete childEnv.STRIPE_SECRET_KEY;
  return spawnJsonLogProcess(projectorMain, ["--config", configFile], childEnv);
}

async function metric(statusPort: number, name: string): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
  const match = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "m").exec(text);
  return match ? Number(match[1]) : null;
}

/** The ledger's reports of each (subscription, period) tile the log: each starts where the one before ended. */
function expectContiguous(ledger: readonly LedgerRow[]): void {
  const groups = new Map<string, LedgerRow[]>();
  for (const row of ledger) groups.set(`${row.subscription_id}|${row.period_start}`, [...(groups.get(`${row.subscription_id}|${row.period_start}`) ?? []), row]);
  for (const rows of groups.values()) {
    rows.forEach((row, index) => {
      expect(row.from_position).toBe(index === 0 ? 0 : rows[index - 1]!.to_position);
      expect(row.to_position).toBeGreaterThan(row.from_position);
    });
  }
}

describe("billing projector: the log's billable usage reaches Stripe's meter exactly once", () => {
  let dir: string | undefined;
  let standIn: StripeStandIn | undefined;
  const children: JsonLogProcess[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.signal("SIGKILL");
      await child.exited;
    }
    await standIn?.close();
    standIn = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function setUp(requests: number): Promise<{ seeded: Seeded; configFile: string; storeFile: string; stripe: Stripe }> {
    expect(existsSync(projectorMain), `${projectorMain} is missing: npx turbo run build --filter=@tollgate/billing-projector...`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), "tollgate-billing-"));
    standIn = await StripeStandIn.start();
    const stripe = new Stripe(SECRET_KEY, { ...standIn.sdkOptions, maxNetworkRetries: 0, telemetry: false });
    const seeded = await seedLog(dir, stripe, requests);
    const storeFile = join(dir, "billing.db");
    const configFile = join(dir, "billing-projector.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        eventStore: { kind: "sqlite", file: seeded.eventsFile },
        store: { file: storeFile },
        stripe: { ...standIn.sdkOptions, timeoutMs: 1_000 },
        reporter: { backoffInitialMs: 50, backoffMaxMs: 400, pollIntervalMs: 100 },
        runner: { maxBatchSize: 100, maxBatchWaitMs: 10 },
        status: { port: 0 },
        logLevel: "info",
      }),
    );
    return { seeded, configFile, storeFile, stripe };
  }

  it("through 429s, 500s, a timeout and a SIGKILL after Stripe counted a report but before the projector heard back: the meter total is N; a replay bills nothing more", async ({ annotate }) => {
    const { seeded, configFile, storeFile } = await setUp(2_000);
    const stand = standIn!;
    const meterRequests = () => stand.requests.filter((request) => request.path === METER_PATH);
    stand.injectFault("rate-limit", 3, METER_PATH);
    stand.injectFault("server-error", 2, METER_PATH);
    stand.injectFault("hang", 1, METER_PATH);
    stand.injectFault("accept-then-hang", 1, METER_PATH);

    // First life: through the faults, until Stripe has counted a report whose answer never comes.
    const first = startProjector(configFile, { STRIPE_SECRET_KEY: SECRET_KEY });
    children.push(first);
    const hung = await waitFor("a report counted by Stripe and left unanswered", () => stand.requests.find((request) => request.fault === "accept-then-hang"), 30_000, 5);
    first.signal("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    // The kill landed mid-report: Stripe counted it, and the ledger still has it pending.
    const afterKill = readBillingFile(storeFile);
    const killedReport = afterKill.ledger.find((row) => row.report_id === hung.identifier);
    expect(killedReport?.status).toBe("pending");
    expect(stand.meterEvents().some((event) => event.identifier === hung.identifier)).toBe(true);
    const faults = stand.requests.filter((request) => request.fault !== null).map((request) => request.fault);
    expect(faults).toEqual(["rate-limit", "rate-limit", "rate-limit", "server-error", "server-error", "hang", "accept-then-hang"]);
    // Every faulted attempt was a send of the same first report, under the same key.
    expect(new Set(meterRequests().slice(0, 6).map((request) => request.idempotencyKey)).size).toBe(1);
    const totalAtKill = stand.meterTotal(METER);

    // Second life: it re-sends the pending report (same identifier and key: Stripe replays its answer), and the rest.
    const second = startProjector(configFile, { STRIPE_SECRET_KEY: SECRET_KEY });
    children.push(second);
    const listening = await waitFor("the restarted projector to listen", () => second.lines.find((line) => line.msg === "listening"), 20_000);
    await waitFor(
      `the meter total to reach ${seeded.billable} (now ${stand.meterTotal(METER)})`,
      () => {
        const state = readBillingFile(storeFile);
        // At or past the last seeded event: the projector may have appended BillingPeriodClosed events after it, which it reads back.
        return state.checkpoint !== null && state.checkpoint >= seeded.last && state.ledger.length > 0 && state.ledger.every((row) => row.status === "reported") && stand.meterTotal(METER) >= seeded.billable;
      },
      60_000,
      20,
    );
    const statusPort = listening.statusPort as number;
    await waitFor("the metrics to show nothing pending", async () => (await metric(statusPort, "tollgate_billing_pending_units")) === 0, 10_000);
    expect(await metric(statusPort, "tollgate_billing_reported_units")).toBe(seeded.billable);

    expect(stand.meterTotal(METER)).toBe(seeded.billable);
    for (const customer of seeded.customers) expect(stand.meterTotal(METER, customer)).toBe(seeded.perCustomer.get(customer));
    const resent = stand.requests.filter((request) => request.identifier === hung.identifier);
    // One report went through every fault, was counted, lost its answer to the kill, and was replayed after the restart.
    expect(resent.map((request) => [request.fault, request.replayed])).toEqual([
      ["rate-limit", false],
      ["rate-limit", false],
      ["rate-limit", false],
      ["server-error", false],
      ["server-error", false],
      ["hang", false],
      ["accept-then-hang", false],
      [null, true],
    ]);
    expect(stand.duplicateMeterEvents).toHaveLength(0);

    const { ledger } = readBillingFile(storeFile);
    expectContiguous(ledger);
    expect(ledger.reduce((sum, row) => sum + row.units, 0)).toBe(seeded.billable);
    // The billing records in the log: one UsageReported per report, summing to N.
    const records = readUsageReported(seeded.eventsFile);
    expect(records.map((record) => record.reportId).sort()).toEqual(ledger.map((row) => row.report_id).sort());
    expect(records.reduce((sum, record) => sum + record.units, 0)).toBe(seeded.billable);
    expect(records.every((record) => !record.timestampClamped)).toBe(true);
    second.signal("SIGTERM");
    expect(await second.exited).toBe(0);

    // Third life: a replay of the whole log from position 0 (a new checkpoint name drops the projection; the ledger stays).
    const requestsBefore = meterRequests().length;
    const replay = startProjector(configFile, { STRIPE_SECRET_KEY: SECRET_KEY, TOLLGATE_BILLING_PROJECTOR__NAME: "billing-replay" });
    children.push(replay);
    await waitFor("the replay to reach the last event", () => (readBillingFile(storeFile, "billing-replay").checkpoint ?? -1n) >= seeded.last, 30_000, 20);
    expect(readBillingFile(storeFile, "billing-replay").billable).toBe(seeded.billable);
    replay.signal("SIGTERM");
    expect(await replay.exited).toBe(0);
    expect(meterRequests().length).toBe(requestsBefore);
    expect(stand.meterTotal(METER)).toBe(seeded.billable);
    expect(readUsageReported(seeded.eventsFile)).toHaveLength(records.length);

    const report =
      `${seeded.billable} billable + ${seeded.nonBillable} non-billable requests → ${ledger.length} meter events, total ${stand.meterTotal(METER)}; ` +
      `3×429, 2×500, 1 timeout, then SIGKILL with ${totalAtKill} counted by Stripe and report ${hung.identifier} pending; ` +
      `its re-send was an idempotent replay; a replay of the log from 0 sent nothing (${meterRequests().length} meter event requests in all)`;
    console.info(`billing projector: ${report}`);
    await annotate(report);
  });

  it("without a Stripe key, usage stays pending; with the key, it drains to N", async ({ annotate }) => {
    const { seeded, configFile, storeFile } = await setUp(1_000);
    const stand = standIn!;
    const keyless = startProjector(configFile, {});
    children.push(keyless);
    const listening = await waitFor("the keyless projector to listen", () => keyless.lines.find((line) => line.msg === "listening"), 20_000);
    expect(keyless.lines.some((line) => typeof line.msg === "string" && line.msg.includes("no Stripe secret key"))).toBe(true);
    await waitFor("the projection to reach the last event", () => (readBillingFile(storeFile).checkpoint ?? -1n) >= seeded.last, 30_000, 20);
    expect(await metric(listening.statusPort as number, "tollgate_billing_pending_units")).toBe(seeded.billable);
    expect(await metric(listening.statusPort as number, "tollgate_billing_reported_units")).toBe(0);
    expect(stand.requests.filter((request) => request.path === METER_PATH)).toHaveLength(0);
    expect(readBillingFile(storeFile).ledger).toHaveLength(0);
    keyless.signal("SIGTERM");
    expect(await keyless.exited).toBe(0);

    const keyed = startProjector(configFile, { STRIPE_SECRET_KEY: SECRET_KEY });
    children.push(keyed);
    await waitFor(
      `the pending usage to drain (meter total ${stand.meterTotal(METER)} of ${seeded.billable})`,
      () => {
        const { ledger } = readBillingFile(storeFile);
        return ledger.length > 0 && ledger.every((row) => row.status === "reported") && stand.meterTotal(METER) >= seeded.billable;
      },
      30_000,
      20,
    );
    keyed.signal("SIGTERM");
    expect(await keyed.exited).toBe(0);
    expect(stand.meterTotal(METER)).toBe(seeded.billable);
    for (const customer of seeded.customers) expect(stand.meterTotal(METER, customer)).toBe(seeded.perCustomer.get(customer));
    const { ledger } = readBillingFile(storeFile);
    expectContiguous(ledger);
    expect(readUsageReported(seeded.eventsFile).reduce((sum, record) => sum + record.units, 0)).toBe(seeded.billable);
    const report = `no key: ${seeded.billable} units pending, 0 requests to Stripe; with the key: ${ledger.length} meter events, total ${stand.meterTotal(METER)}`;
    console.info(`billing projector: ${report}`);
    await annotate(report);
  });
});
