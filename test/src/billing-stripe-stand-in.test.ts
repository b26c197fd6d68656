import Stripe from "stripe";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeForm, signWebhookPayload, StripeStandIn } from "./support/stripe-stand-in.js";

/** The Stripe stand-in, driven by the real stripe SDK (23.x) through its host, port and protocol options. */
describe("Stripe stand-in, through the real stripe SDK", () => {
  let standIn: StripeStandIn;
  let stripe: Stripe;

  beforeEach(async () => {
    standIn = await StripeStandIn.start();
    stripe = new Stripe("sk_test_stand_in", { ...standIn.sdkOptions, maxNetworkRetries: 0, timeout: 500, telemetry: false });
  });

  afterEach(async () => {
    await standIn.close();
  });

  it("creates, retrieves and cancels customers and subscriptions", async () => {
    const customer = await stripe.customers.create({ name: "Acme", email: "billing@acme.test", metadata: { consumerId: "acme" } });
    expect(customer).toMatchObject({ object: "customer", name: "Acme", email: "billing@acme.test", metadata: { consumerId: "acme" } });
    expect(customer.id).toMatch(/^cus_/);
    expect((await stripe.customers.retrieve(customer.id)).id).toBe(customer.id);

    const subscription = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: "price_metered" }] });
    expect(subscription).toMatchObject({ object: "subscription", status: "active", customer: customer.id });
    expect(subscription.items.data.map((item) => item.price.id)).toEqual(["price_metered"]);
    const cancelled = await stripe.subscriptions.cancel(subscription.id);
    expect(cancelled.status).toBe("canceled");
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe("canceled");

    await expect(stripe.customers.retrieve("cus_missing")).rejects.toMatchObject({ type: "StripeInvalidRequestError", statusCode: 404, code: "resource_missing" });
    await expect(stripe.subscriptions.create({ customer: "cus_missing", items: [{ price: "p" }] })).rejects.toMatchObject({ statusCode: 404 });
  });

  it("counts meter events per meter and customer, once per identifier", async () => {
    const at = Math.floor(Date.now() / 1_000) - 3_600;
    const event = (identifier: string, value: number, customer = "cus_a") =>
      stripe.billing.meterEvents.create({ event_name: "api_requests", payload: { stripe_customer_id: customer, value: String(value) }, identifier, timestamp: at });
    const created = await event("id-1", 5);
    expect(created).toMatchObject({ object: "billing.meter_event", event_name: "api_requests", identifier: "id-1", payload: { stripe_customer_id: "cus_a", value: "5" }, timestamp: at });
    await event("id-2", 7);
    await event("id-3", 11, "cus_b");
    // Same identifier again (another idempotency key): accepted, not counted.
    await event("id-1", 5);
    await event("id-1", 99);
    expect(standIn.meterTotal("api_requests")).toBe(23);
    expect(standIn.meterTotal("api_requests", "cus_a")).toBe(12);
    expect(standIn.meterTotal("other")).toBe(0);
    expect(standIn.duplicateMeterEvents.map((duplicate) => duplicate.identifier)).toEqual(["id-1", "id-1"]);

    // Stripe's rules on the payload and the timestamp.
    const now = Math.floor(Date.now() / 1_000);
    await expect(
      stripe.billing.meterEvents.create({ event_name: "api_requests", payload: { stripe_customer_id: "cus_a", value: "1" }, timestamp: now - 36 * 86_400 }),
    ).rejects.toMatchObject({ type: "StripeInvalidRequestError", statusCode: 400, param: "timestamp" });
    await expect(
      stripe.billing.meterEvents.create({ event_name: "api_requests", payload: { stripe_customer_id: "cus_a", value: "1" }, timestamp: now + 600 }),
    ).rejects.toMatchObject({ statusCode: 400 });
    await expect(stripe.billing.meterEvents.create({ event_name: "api_requests", payload: { stripe_customer_id: "cus_a", value: "1.5" } })).rejects.toMatchObject({
      statusCode: 400,
    });
    await expect(stripe.billing.meterEvents.create({ event_name: "api_requests", payload: { value: "1" } })).rejects.toMatchObject({ statusCode: 400 });
    expect(standIn.meterTotal("api_requests")).toBe(23);
  });

  it("sees the SDK's form-encoded body and Idempotency-Key; replays the same key and body, refuses the same key with another body", async () => {
    const params = { event_name: "api_requests", payload: { stripe_customer_id: "cus_a", value: "3" }, identifier: "idem-1" };
    const first = await stripe.billing.meterEvents.create(params, { idempotencyKey: "key-1" });
    const replay = await stripe.billing.meterEvents.create(params, { idempotencyKey: "key-1" });
    expect(replay.identifier).toBe(first.identifier);
    expect(replay.lastResponse.headers["idempotent-replayed"]).toBe("true");
    expect(standIn.requests.map((request) => [request.idempotencyKey, request.replayed])).toEqual([
      ["key-1", false],
      ["key-1", true],
    ]);
    // The replay never reached the endpoint: no duplicate was even seen.
    expect(standIn.duplicateMeterEvents).toHaveLength(0);
    await expect(stripe.billing.meterEvents.create({ ...params, payload: { stripe_customer_id: "cus_a", value: "4" } }, { idempotencyKey: "key-1" })).rejects.toMatchObject({
      type: "StripeIdempotencyError",
      statusCode: 400,
    });
    expect(standIn.meterTotal("api_requests")).toBe(3);

    // What the SDK sends, raw: a form body with bracket notation, and a Bearer key.
    const raw = await fetch(`http://127.0.0.1:${standIn.port}/v1/billing/meter_events`, {
      method: "POST",
      headers: { authorization: "Bearer sk_test_raw", "content-type": "application/x-www-form-urlencoded" },
      body: "event_name=api_requests&payload[stripe_customer_id]=cus_raw&payload[value]=2&identifier=raw-1",
    });
    expect(raw.status).toBe(200);
    expect(standIn.meterTotal("api_requests", "cus_raw")).toBe(2);
    const anonymous = await fetch(`http://127.0.0.1:${standIn.port}/v1/customers`, { method: "POST" });
    expect(anonymous.status).toBe(401);
    expect(decodeForm("a=1&b[c]=2&items[1][price]=y&items[0][price]=x")).toEqual({ a: "1", b: { c: "2" }, items: [{ price: "x" }, { price: "y" }] });
  });

  it("injects 429s, 500s and hangs past the SDK's timeout; a processed-then-hung request is counted once its retry replays", async () => {
    const params = { event_name: "api_requests", payload: { stripe_customer_id: "cus_a", value: "8" }, identifier: "fault-1" };
    standIn.injectFault("rate-limit");
    standIn.injectFault("server-error");
    standIn.injectFault("hang");
    standIn.injectFault("accept-then-hang");
    await expect(stripe.billing.meterEvents.create(params, { idempotencyKey: "k" })).rejects.toMatchObject({ type: "StripeRateLimitError", statusCode: 429 });
    await expect(stripe.billing.meterEvents.create(params, { idempotencyKey: "k" })).rejects.toMatchObject({ type: "StripeAPIError", statusCode: 500 });
    await expect(stripe.billing.meterEvents.create(params, { idempotencyKey: "k" })).rejects.toMatchObject({ type: "StripeConnectionError" });
    expect(standIn.meterTotal("api_requests")).toBe(0);
    // Processed, then the answer never comes: Stripe counted it, the client timed out.
    await expect(stripe.billing.meterEvents.create(params, { idempotencyKey: "k" })).rejects.toMatchObject({ type: "StripeConnectionError" });
    expect(standIn.meterTotal("api_requests")).toBe(8);
    const retried = await stripe.billing.meterEvents.create(params, { idempotencyKey: "k" });
    expect(retried.lastResponse.headers["idempotent-replayed"]).toBe("true");
    expect(standIn.meterTotal("api_requests")).toBe(8);
    expect(standIn.requests.map((request) => [request.fault, request.status])).toEqual([
      ["rate-limit", 429],
      ["server-error", 500],
      ["hang", null],
      ["accept-then-hang", null],
      [null, 200],
    ]);
    expect(standIn.hungRequests).toBe(2);
    expect(standIn.pendingFaults).toBe(0);
  });

  it("signs webhook payloads the way Stripe does: the SDK's constructEvent accepts them, and refuses tampered, foreign or stale ones", () => {
    const secret = "whsec_stand_in";
    const payload = JSON.stringify({ id: "evt_1", object: "event", type: "invoice.paid", data: { object: { id: "in_1" } } });
    const header = signWebhookPayload(payload, secret);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(stripe.webhooks.constructEvent(payload, header, secret)).toMatchObject({ id: "evt_1", type: "invoice.paid" });
    expect(() => stripe.webhooks.constructEvent(payload.replace("in_1", "in_2"), header, secret)).toThrow(/signature/i);
    expect(() => stripe.webhooks.constructEvent(payload, header, "whsec_other")).toThrow(/signature/i);
    const stale = signWebhookPayload(payload, secret, Math.floor(Date.now() / 1_000) - 600);
    expect(() => stripe.webhooks.constructEvent(payload, stale, secret)).toThrow(/tolerance/i);
  });
});
