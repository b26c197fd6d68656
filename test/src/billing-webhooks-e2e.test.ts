import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEvents, startAuthStack, type AuthStack, type Json } from "./support/auth-e2e-stack.js";
import { deliverWebhook, signWebhookPayload, StripeStandIn } from "./support/stripe-stand-in.js";
import { waitFor } from "./support/wait-for.js";

/** The built projector; `npx turbo run build --filter=@tollgate/billing-projector...` builds it. */
const projectorMain = fileURLToPath(new URL("../../services/billing-projector/dist/main.js", import.meta.url));

const SECRET_KEY = "sk_test_tollgate_webhooks_e2e";
const WEBHOOK_SECRET = "whsec_tollgate_e2e_9f8e7d6c5b4a39281706";
const METER = "api_requests";
const SYNC_CHECKPOINT = "billing-projector-stripe-sync";

interface ProjectorProcess {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | string>;
  listening: Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

function startProjector(configFile: string, options: { key: boolean } = { key: true }): ProjectorProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, STRIPE_SECRET_KEY: SECRET_KEY };
  if (!options.key) delete env.STRIPE_SECRET_KEY;
  const child = spawn(process.execPath, [projectorMain, "--config", configFile], { env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const exited = once(child, "exit").then(([code, signal]) => (code as number | null) ?? (signal as string));
  const listening = new Promise<void>((resolve, reject) => {
    void exited.then((code) => reject(new Error(`billing projector exited with ${String(code)} before listening:\n${lines.join("\n")}`)));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        if (line.includes('"msg":"listening"')) resolve();
      });
    }
  });
  return {
    child,
    lines,
    exited,
    listening,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A checkpoint in the projector's own file (the sync's by default); null before its first batch. */
function syncCheckpoint(storeFile: string, name = SYNC_CHECKPOINT): number | null {
  if (!existsSync(storeFile)) return null;
  const db = new Database(storeFile, { readonly: true, fileMustExist: true });
  try {
    const position = db.prepare<[string], string>("SELECT position FROM checkpoints WHERE name = ?").pluck().get(name);
    return position === undefined ? null : Number(position);
  } catch {
    return null;
  } finally {
    db.close();
  }
}

describe("Stripe customers, subscriptions and webhooks end to end (control plane, gateway, billing projector, Stripe stand-in)", () => {
  let stack: AuthStack;
  let standIn: StripeStandIn;
  let dir: string;
  let configFile: string;
  let storeFile: string;
  let projector: ProjectorProcess | undefined;
  let apiKey = "";
  let stripeSubscriptionId = "";
  let stripeCustomerId = "";
  let webhooksUrl = "";
  /** Stripe event ids the endpoint accepted, in order: each must be exactly one StripeWebhookReceived. */
  const accepted: string[] = [];

  const callGateway = async (): Promise<number> => (await fetch(`${stack.gateway.url}/orders/1`, { headers: { "x-api-key": apiKey } })).status;
  /** Sends requests until the gateway answers `status`; the time from `since` until it did. */
  const untilGateway = async (status: number, since: number): Promise<number> => {
    await waitFor(`the gateway to answer ${status}`, async () => (await callGateway()) === status, 5_000, 5);
    return performance.now() - since;
  };
  const stripeRequests = (method: string, path: string) => standIn.requests.filter((request) => request.method === method && request.path === path && request.status === 200);

  beforeAll(async () => {
    expect(existsSync(projectorMain), `${projectorMain} is missing: npx turbo run build --filter=@tollgate/billing-projector...`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), "tollgate-billing-webhooks-"));
    standIn = await StripeStandIn.start();
    stack = await startAuthStack({
      controlPlaneConfig: { stripeWebhooks: { signingSecret: WEBHOOK_SECRET } },
      gatewayConfig: (upstreamUrl) => ({
        upstreams: { api: { targets: [upstreamUrl] } },
        routes: [{ id: "orders", match: { pathPrefix: "/orders" }, upstream: "api", auth: [{ type: "api-key" }] }],
      }),
    });
    webhooksUrl = `${stack.cp.url}/webhooks/stripe`;
    storeFile = join(dir, "billing.db");
    configFile = join(dir, "billing-projector.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        eventStore: { kind: "sqlite", file: stack.eventsFile },
        store: { file: storeFile },
        stripe: { ...standIn.sdkOptions, timeoutMs: 2_000 },
        reporter: { backoffInitialMs: 50, backoffMaxMs: 400, pollIntervalMs: 100 },
        runner: { maxBatchSize: 100, maxBatchWaitMs: 10 },
        status: { port: 0 },
        logLevel: "info",
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await projector?.stop("SIGKILL");
    await stack?.cleanup();
    await standIn?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("a consumer subscribing to a paid plan gets one Stripe customer and one Stripe subscription on the plan's price, once across restarts and a replay", async () => {
    const plan = await stack.admin("POST", "/admin/plans", {
      id: "pro",
      name: "Pro",
      routes: ["orders"],
      price: { stripePriceId: "price_pro_metered", stripeMeterEventName: METER },
      pricing: { currency: "usd", flatFeeMinor: 0, includedUnits: 0, overageUnitPriceMinor: 1 },
    });
    expect(plan.status).toBe(201);
    expect((await stack.admin("POST", "/admin/consumers", { id: "acme", name: "Acme Corp", email: "billing@acme.test" })).status).toBe(201);
    expect((await stack.admin("POST", "/admin/subscriptions", { id: "acme-pro", consumerId: "acme", planId: "pro" })).status).toBe(201);
    const issued = await stack.admin("POST", "/admin/consumers/acme/api-keys", { id: "acme-key", name: "prod" });
    expect(issued.status).toBe(201);
    apiKey = issued.body.secret as string;

    // Without a key the sync waits at its checkpoint: nothing reaches Stripe, nothing is skipped.
    projector = startProjector(configFile, { key: false });
    await projector.listening;
    const started = readEvents(stack.eventsFile, "type = 'SubscriptionStarted'")[0]!;
    await waitFor("the usage projection to pass the subscription", () => (syncCheckpoint(storeFile, "billing-projector") ?? 0) >= started.position);
    expect(projector.lines.some((line) => line.includes('"stripeSync":"off"'))).toBe(true);
    expect(await projector.stop()).toBe(0);
    expect(standIn.requests).toEqual([]);
    expect(syncCheckpoint(storeFile)).toBeNull();

    // Stripe is flaky at first: the sync retries each step with the same key until it goes through.
    standIn.injectFault("server-error", 2, "/v1/customers");
    standIn.injectFault("rate-limit", 1, "/v1/subscriptions");
    projector = startProjector(configFile);
    await projector.listening;
    const linked = await waitFor("StripeSubscriptionLinked in the log", () => readEvents(stack.eventsFile, "type = 'StripeSubscriptionLinked'")[0]);
    expect(standIn.requests.filter((request) => request.path === "/v1/customers").map((request) => [request.status, request.idempotencyKey])).toEqual([
      [500, "tollgate-customer-acme"],
      [500, "tollgate-customer-acme"],
      [200, "tollgate-customer-acme"],
    ]);
    expect(standIn.requests.filter((request) => request.path === "/v1/subscriptions").map((request) => request.status)).toEqual([429, 200]);
    stripeSubscriptionId = linked.data.stripeSubscriptionId as string;
    stripeCustomerId = linked.data.stripeCustomerId as string;

    expect(standIn.customers()).toEqual([expect.objectContaining({ id: stripeCustomerId, name: "Acme Corp", email: "billing@acme.test", metadata: { tollgateConsumerId: "acme" } })]);
    const [subscription] = standIn.subscriptions();
    expect(standIn.subscriptions()).toHaveLength(1);
    expect(subscription).toMatchObject({ id: stripeSubscriptionId, customer: stripeCustomerId, status: "active", metadata: { tollgateSubscriptionId: "acme-pro", tollgateConsumerId: "acme" } });
    expect((subscription!.items as { data: Json[] }).data).toEqual([expect.objectContaining({ price: { id: "price_pro_metered", object: "price" } })]);
    expect(stripeRequests("POST", "/v1/customers").map((request) => request.idempotencyKey)).toEqual(["tollgate-customer-acme"]);
    expect(stripeRequests("POST", "/v1/subscriptions").map((request) => request.idempotencyKey)).toEqual([expect.stringMatching(/^tollgate-subscription-acme-pro-\d+$/)]);
    expect(readEvents(stack.eventsFile, "stream_id = 'billing-customer:acme'").map((event) => [event.type, event.data.stripeCustomerId, event.data.source])).toEqual([
      ["StripeCustomerLinked", stripeCustomerId, "created"],
    ]);

    // A restart resumes from the checkpoint; a lost checkpoint replays the log from 0, where every step is found done.
    // The last event the sync reads (its filter: subscription events and customer links).
    const syncHead = readEvents(stack.eventsFile, "type IN ('SubscriptionStarted', 'SubscriptionPlanChanged', 'SubscriptionCancelled', 'StripeCustomerLinked')").at(-1)!.position;
    await waitFor("the sync's checkpoint to reach its last event", () => (syncCheckpoint(storeFile) ?? 0) >= syncHead);
    expect(await projector.stop()).toBe(0);
    projector = startProjector(configFile);
    await projector.listening;
    expect(await projector.stop()).toBe(0);
    const db = new Database(storeFile);
    db.prepare("DELETE FROM checkpoints WHERE name = ?").run(SYNC_CHECKPOINT);
    db.close();
    projector = startProjector(configFile);
    await projector.listening;
    await waitFor("the replayed sync to reach its last event again", () => (syncCheckpoint(storeFile) ?? 0) >= syncHead);
    expect(standIn.customers()).toHaveLength(1);
    expect(standIn.subscriptions()).toHaveLength(1);
    // No call since: 3 attempts at the customer and 2 at the subscription, all before the restarts.
    expect(standIn.requests.filter((request) => request.method === "POST" && (request.path === "/v1/customers" || request.path === "/v1/subscriptions"))).toHaveLength(5);
    expect([...stripeRequests("POST", "/v1/customers"), ...stripeRequests("POST", "/v1/subscriptions")]).toHaveLength(2);
    expect(readEvents(stack.eventsFile, "type IN ('StripeCustomerLinked', 'StripeSubscriptionLinked')")).toHaveLength(2);
  }, 60_000);

  it("usage is metered to the customer the sync created (no stripeCustomerId label)", async () => {
    await waitFor("the key to work at the gateway", async () => (await callGateway()) === 200, 5_000, 10);
    for (let i = 0; i < 4; i++) expect(await callGateway()).toBe(200);
    // 5 answered 200 (the first that worked, then 4); the gateway's group commit records them shortly after.
    const billable = 5;
    await waitFor("5 RequestCompleted events", () => readEvents(stack.eventsFile, "type = 'RequestCompleted'").length === billable);
    await waitFor(`the meter total for ${stripeCustomerId} to reach ${billable}`, () => standIn.meterTotal(METER, stripeCustomerId) === billable);
    expect(standIn.meterTotal(METER)).toBe(billable);
  }, 30_000);

  it("a plan change moves the Stripe subscription's item to the new plan's price, once", async () => {
    expect(
      (await stack.admin("POST", "/admin/plans", { id: "pro-plus", name: "Pro Plus", routes: ["orders"], price: { stripePriceId: "price_pro_plus_metered", stripeMeterEventName: METER } }))
        .status,
    ).toBe(201);
    expect((await stack.admin("POST", "/admin/subscriptions/acme-pro/change-plan", { planId: "pro-plus" })).status).toBe(200);
    const changed = await waitFor("StripeSubscriptionPriceChanged in the log", () => readEvents(stack.eventsFile, "type = 'StripeSubscriptionPriceChanged'")[0]);
    expect(changed.data).toMatchObject({ subscriptionId: "acme-pro", stripeSubscriptionId, fromStripePriceId: "price_pro_metered", toStripePriceId: "price_pro_plus_metered" });
    const items = (standIn.subscriptions()[0]!.items as { data: Json[] }).data;
    expect(items).toEqual([expect.objectContaining({ price: { id: "price_pro_plus_metered", object: "price" } })]);
    expect(stripeRequests("POST", `/v1/subscriptions/${stripeSubscriptionId}`).map((request) => request.idempotencyKey)).toEqual([
      expect.stringMatching(/^tollgate-subscription-price-acme-pro-\d+$/),
    ]);
    expect(await callGateway()).toBe(200);
  });

  it("refuses forged, unsigned, altered and stale webhooks with 400 problem+json, and records none of them", async () => {
    const event = standIn.webhookEvent("invoice.payment_failed", { subscription: stripeSubscriptionId });
    const forged = await deliverWebhook(webhooksUrl, event, "whsec_not_the_endpoint_secret");
    const unsigned = await deliverWebhook(webhooksUrl, event, WEBHOOK_SECRET, { signature: null });
    const genuine = JSON.stringify(event);
    const altered = await deliverWebhook(webhooksUrl, event, WEBHOOK_SECRET, {
      payload: genuine.replace("invoice.payment_failed", "invoice.paid"),
      signature: signWebhookPayload(genuine, WEBHOOK_SECRET),
    });
    const stale = await deliverWebhook(webhooksUrl, event, WEBHOOK_SECRET, { timestampSeconds: Math.floor(Date.now() / 1_000) - 600 });
    expect([forged, unsigned, altered, stale].map((delivery) => [delivery.status, (delivery.body as Json).code])).toEqual([
      [400, "webhook-signature-invalid"],
      [400, "webhook-signature-missing"],
      [400, "webhook-signature-invalid"],
      [400, "webhook-signature-too-old"],
    ]);
    expect(readEvents(stack.eventsFile, "type = 'StripeWebhookReceived'")).toEqual([]);
    expect(await callGateway()).toBe(200);
  });

  it("invoice.payment_failed makes the gateway answer 403 within 1 s; a replay of it is answered 200 without a second effect", async () => {
    const event = standIn.webhookEvent("invoice.payment_failed", { subscription: stripeSubscriptionId });
    const sentAt = performance.now();
    const delivery = await deliverWebhook(webhooksUrl, event, WEBHOOK_SECRET);
    expect(delivery.status).toBe(200);
    expect(delivery.body).toMatchObject({ received: true, eventId: event.id, outcome: "suspended", duplicate: false });
    const latencyMs = await untilGateway(403, sentAt);
    expect(latencyMs).toBeLessThan(1_000);
    accepted.push(event.id as string);

    // Stripe redelivers the same event (same id), freshly signed, and an attacker replays the captured delivery as is.
    const redelivered = await deliverWebhook(webhooksUrl, event, WEBHOOK_SECRET);
    const replayed = await deliverWebhook(webhooksUrl, event, WEBHOOK_SECRET, { payload: delivery.payload, signature: delivery.signature });
    for (const again of [redelivered, replayed]) {
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ eventId: event.id, outcome: "suspended", duplicate: true });
    }
    expect(readEvents(stack.eventsFile, "stream_id = 'subscription-acme-pro' AND type = 'SubscriptionSuspended'")).toHaveLength(1);
    console.log(`payment_failed webhook → gateway 403 in ${latencyMs.toFixed(0)} ms`);
  });

  it("invoice.paid reactivates; customer.subscription.deleted cancels, and the sync does not cancel again in Stripe", async () => {
    const paid = standIn.webhookEvent("invoice.paid", { subscription: stripeSubscriptionId });
    const sentAt = performance.now();
    expect((await deliverWebhook(webhooksUrl, paid, WEBHOOK_SECRET)).body).toMatchObject({ outcome: "reactivated" });
    expect(await untilGateway(200, sentAt)).toBeLessThan(1_000);
    accepted.push(paid.id as string);

    const deleted = standIn.webhookEvent("customer.subscription.deleted", { subscription: stripeSubscriptionId });
    const deletedAt = performance.now();
    expect((await deliverWebhook(webhooksUrl, deleted, WEBHOOK_SECRET)).body).toMatchObject({ outcome: "cancelled", duplicate: false });
    expect(await untilGateway(403, deletedAt)).toBeLessThan(1_000);
    accepted.push(deleted.id as string);
    const subscription = await stack.admin("GET", "/admin/subscriptions/acme-pro");
    expect(subscription.body).toMatchObject({ status: "cancelled" });

    const record = await waitFor("the sync to record the cancellation", () => readEvents(stack.eventsFile, "type = 'StripeSubscriptionCancelled'")[0]);
    expect(record.data).toMatchObject({ subscriptionId: "acme-pro", stripeSubscriptionId, reason: "cancelled-in-stripe" });
    expect(standIn.requests.filter((request) => request.method === "DELETE")).toEqual([]);

    const ignored = standIn.webhookEvent("customer.updated", { object: { id: stripeCustomerId, object: "customer" } });
    expect((await deliverWebhook(webhooksUrl, ignored, WEBHOOK_SECRET)).body).toMatchObject({ outcome: "ignored" });
    accepted.push(ignored.id as string);
  });

  it("every webhook accepted is exactly one StripeWebhookReceived event, in its own stream, without the payload", () => {
    const received = readEvents(stack.eventsFile, "type = 'StripeWebhookReceived'");
    expect(received.map((event) => event.data.stripeEventId)).toEqual(accepted);
    expect(received.map((event) => [event.data.stripeEventType, event.data.outcome, event.data.subscriptionId])).toEqual([
      ["invoice.payment_failed", "suspended", "acme-pro"],
      ["invoice.paid", "reactivated", "acme-pro"],
      ["customer.subscription.deleted", "cancelled", "acme-pro"],
      ["customer.updated", "ignored", null],
    ]);
    // One stream per Stripe event id, named after it: what makes a redelivery find it.
    expect(readEvents(stack.eventsFile, "type = 'StripeWebhookReceived' AND stream_id = 'billing-webhook:' || json_extract(data, '$.stripeEventId')")).toHaveLength(accepted.length);
    const output = [...stack.gateway.lines, ...stack.cp.lines, ...(projector?.lines ?? [])].join("\n");
    expect(output).not.toContain(WEBHOOK_SECRET);
    expect(output).not.toContain(SECRET_KEY);
  });
});
