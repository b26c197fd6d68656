import { createHmac } from "node:crypto";
import { billingStream, streams } from "@tollgate/events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../../test-support/control-plane-harness.js";

const secret = "whsec_test_0123456789abcdef";

/** Stripe's signature scheme: `t=<s>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`. */
function sign(payload: string, signingSecret = secret, t = Math.floor(Date.now() / 1_000)): string {
  return `t=${t},v1=${createHmac("sha256", signingSecret).update(`${t}.${payload}`, "utf8").digest("hex")}`;
}

let sequence = 0;
function stripeEvent(type: string, object: Record<string, unknown>, id = `evt_test_${++sequence}`, created = Math.floor(Date.now() / 1_000)): string {
  return JSON.stringify({ id, object: "event", api_version: "2026-10-28", created, livemode: false, type, data: { object } });
}

const invoiceFor = (subscriptionId: string | null, stripeSubscriptionId = "sub_stripe_1") => ({
  id: "in_1",
  object: "invoice",
  parent: {
    type: "subscription_details",
    subscription_details: { subscription: stripeSubscriptionId, metadata: subscriptionId === null ? {} : { tollgateSubscriptionId: subscriptionId } },
  },
});

describe("POST /webhooks/stripe", () => {
  let harness: Harness;

  const deliver = (payload: string, signature: string | null = sign(payload)) =>
    harness.call("POST", "/webhooks/stripe", { token: null, body: payload, headers: signature === null ? {} : { "stripe-signature": signature } });
  const status = async (subscriptionId: string) => (await harness.admin<{ status: string }>("GET", `/admin/subscriptions/${subscriptionId}`)).body.status;
  const webhookEvents = async () => (await harness.store.readAll({ from: 0n, limit: 1_000, filter: { eventTypes: ["StripeWebhookReceived"] } })).map((event) => event.data);
  const subscriptionEvents = async (subscriptionId: string) => (await harness.store.readStream(streams.subscription(subscriptionId))).map((event) => event.type);

  beforeEach(async () => {
    harness = await startHarness({ stripeWebhooks: { signingSecret: secret } });
    expect((await harness.admin("POST", "/admin/plans", { id: "gold", name: "Gold", routes: ["*"], price: { stripePriceId: "price_gold", stripeMeterEventName: "api_requests" } })).status).toBe(201);
    expect((await harness.admin("POST", "/admin/consumers", { id: "acme", name: "Acme" })).status).toBe(201);
    expect((await harness.admin("POST", "/admin/subscriptions", { id: "sub-1", consumerId: "acme", planId: "gold" })).status).toBe(201);
  });

  afterEach(async () => {
    await harness.close();
  });

  describe("happy", () => {
    it("payment_failed suspends, invoice.paid reactivates, subscription.deleted cancels; each delivery is one event", async () => {
      const failed = await deliver(stripeEvent("invoice.payment_failed", invoiceFor("sub-1")));
      expect(failed.status).toBe(200);
      expect(failed.body).toMatchObject({ received: true, outcome: "suspended", duplicate: false });
      expect(await status("sub-1")).toBe("suspended");

      expect((await deliver(stripeEvent("invoice.paid", invoiceFor("sub-1")))).body).toMatchObject({ outcome: "reactivated" });
      expect(await status("sub-1")).toBe("active");

      const deleted = await deliver(stripeEvent("customer.subscription.deleted", { id: "sub_stripe_1", object: "subscription", metadata: { tollgateSubscriptionId: "sub-1" } }));
      expect(deleted.body).toMatchObject({ outcome: "cancelled" });
      expect(await status("sub-1")).toBe("cancelled");

      expect(await subscriptionEvents("sub-1")).toEqual(["SubscriptionStarted", "SubscriptionSuspended", "SubscriptionReactivated", "SubscriptionCancelled"]);
      const suspended = (await harness.store.readStream(streams.subscription("sub-1")))[1]!.data;
      expect(suspended).toMatchObject({ reason: "stripe invoice.payment_failed (in_1)", actor: { kind: "system", id: "stripe-webhooks" } });
      expect((await webhookEvents()).map((data) => (data as { outcome: string }).outcome)).toEqual(["suspended", "reactivated", "cancelled"]);
    });

    it("without metadata, finds the subscription through its StripeSubscriptionLinked record", async () => {
      await harness.store.append(billingStream("sub-1"), [
        {
          id: crypto.randomUUID(),
          type: "StripeSubscriptionLinked",
          version: 1,
          data: {
            subscriptionId: "sub-1",
            consumerId: "acme",
            planId: "gold",
            stripeCustomerId: "cus_1",
            stripeSubscriptionId: "sub_stripe_linked",
            stripeSubscriptionItemId: "si_1",
            stripePriceId: "price_gold",
            sourcePosition: "3",
            linkedAt: new Date().toISOString(),
          },
        },
      ]);
      const answer = await deliver(stripeEvent("invoice.payment_failed", invoiceFor(null, "sub_stripe_linked")));
      expect(answer.body).toMatchObject({ outcome: "suspended" });
      expect(await status("sub-1")).toBe("suspended");
      expect(await webhookEvents()).toEqual([expect.objectContaining({ stripeSubscriptionId: "sub_stripe_linked", subscriptionId: "sub-1" })]);
    });

    it("invoice.paid leaves an operator's suspension alone; unknown types and unknown subscriptions are recorded without effect", async () => {
      expect((await harness.admin("POST", "/admin/subscriptions/sub-1/suspend", { reason: "abuse" })).status).toBe(200);
      expect((await deliver(stripeEvent("invoice.paid", invoiceFor("sub-1")))).body).toMatchObject({ outcome: "unchanged" });
      expect(await status("sub-1")).toBe("suspended");
      expect((await deliver(stripeEvent("customer.created", { id: "cus_1", object: "customer" }))).body).toMatchObject({ outcome: "ignored" });
      expect((await deliver(stripeEvent("invoice.payment_failed", invoiceFor(null, "sub_unknown")))).body).toMatchObject({ outcome: "not-linked" });
      expect((await webhookEvents()).map((data) => (data as { outcome: string }).outcome)).toEqual(["unchanged", "ignored", "not-linked"]);
    });
  });

  describe("ordering", () => {
    it("a payment_failed older than an invoice.paid already applied arrives late: recorded as stale, no suspension", async () => {
      const now = Math.floor(Date.now() / 1_000);
      expect((await deliver(stripeEvent("invoice.paid", invoiceFor("sub-1"), "evt_paid", now))).body).toMatchObject({ outcome: "unchanged" });
      expect((await deliver(stripeEvent("invoice.payment_failed", invoiceFor("sub-1"), "evt_failed_earlier", now - 60))).body).toMatchObject({ outcome: "stale" });
      expect(await status("sub-1")).toBe("active");
      // A newer failure still suspends.
      expect((await deliver(stripeEvent("invoice.payment_failed", invoiceFor("sub-1"), "evt_failed_later", now + 1))).body).toMatchObject({ outcome: "suspended" });
      expect(await status("sub-1")).toBe("suspended");
    });
  });

  describe("security", () => {
    it("refuses unsigned, forged, altered and too-old deliveries with 400 problem+json, and records none", async () => {
      const payload = stripeEvent("invoice.payment_failed", invoiceFor("sub-1"));
      const unsigned = await deliver(payload, null);
      expect(unsigned.status).toBe(400);
      expect(unsigned.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect(unsigned.body).toMatchObject({ code: "webhook-signature-missing" });
      expect((await deliver(payload, sign(payload, "whsec_forged"))).body).toMatchObject({ status: 400, code: "webhook-signature-invalid" });
      expect((await deliver(payload.replace("in_1", "in_2"), sign(payload))).body).toMatchObject({ status: 400, code: "webhook-signature-invalid" });
      const tenMinutesAgo = Math.floor(Date.now() / 1_000) - 600;
      expect((await deliver(payload, sign(payload, secret, tenMinutesAgo))).body).toMatchObject({ status: 400, code: "webhook-signature-too-old" });
      expect(await status("sub-1")).toBe("active");
      expect(await webhookEvents()).toEqual([]);
    });

    it("a replayed event id is answered 200 as before, with no second effect and no second event", async () => {
      const payload = stripeEvent("invoice.payment_failed", invoiceFor("sub-1"), "evt_replayed");
      expect((await deliver(payload)).body).toMatchObject({ outcome: "suspended", duplicate: false });
      // An operator lifts the suspension; the same Stripe event delivered again must not suspend anew.
      expect((await harness.admin("POST", "/admin/subscriptions/sub-1/reactivate")).status).toBe(200);
      const again = await deliver(payload);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ eventId: "evt_replayed", outcome: "suspended", duplicate: true });
      expect(await status("sub-1")).toBe("active");
      expect(await subscriptionEvents("sub-1")).toEqual(["SubscriptionStarted", "SubscriptionSuspended", "SubscriptionReactivated"]);
      expect(await webhookEvents()).toHaveLength(1);
    });

    it("without a signing secret every delivery is 503 (Stripe retries), and the secret never appears in an answer", async () => {
      await harness.restart({ stripeWebhooks: { signingSecret: null, toleranceSeconds: 300 } });
      const payload = stripeEvent("invoice.paid", invoiceFor("sub-1"));
      const answer = await deliver(payload);
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ code: "webhooks-not-configured", retryable: true });
      await harness.restart();
      const forged = await deliver(payload, sign(payload, "whsec_forged"));
      expect(JSON.stringify(forged.body)).not.toContain(secret);
    });
  });
});
