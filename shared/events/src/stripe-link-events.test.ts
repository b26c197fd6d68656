import { describe, expect, it } from "vitest";
import { parseEvent } from "./parse-event.js";
import { billingEventId, stripeCustomerStream, stripeWebhookStream } from "./stripe-link-events.js";

const received = {
  stripeEventId: "evt_1",
  stripeEventType: "invoice.payment_failed",
  stripeCreatedAt: "2026-01-10T00:00:00.000Z",
  livemode: false,
  stripeSubscriptionId: "sub_s1",
  subscriptionId: "sub-1",
  outcome: "suspended",
  receivedAt: "2026-01-10T00:00:01.000Z",
};

describe("Stripe link events", () => {
  it("live in the billing category, in streams that cannot collide with a subscription's", () => {
    expect(stripeCustomerStream("acme")).toBe("billing-customer:acme");
    expect(stripeWebhookStream("evt_1")).toBe("billing-webhook:evt_1");
  });

  it("derive their event ids (UUID layout, version 8) from what they record, so a second append is skipped", () => {
    const id = billingEventId("webhook", "evt_1");
    expect(id).toBe(billingEventId("webhook", "evt_1"));
    expect(id).not.toBe(billingEventId("webhook", "evt_2"));
    expect(id).not.toBe(billingEventId("customer-linked", "evt_1"));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("are TollgateEvents: parsed by parseEvent, refused with a wrong outcome or a position that is not one", () => {
    expect(parseEvent("StripeWebhookReceived", 1, received)).toEqual({ type: "StripeWebhookReceived", version: 1, data: received });
    expect(() => parseEvent("StripeWebhookReceived", 1, { ...received, outcome: "paid" })).toThrow(/outcome/);
    const cancelled = { subscriptionId: "sub-1", stripeSubscriptionId: "sub_s1", reason: "cancelled-in-stripe", sourcePosition: "12", cancelledAt: "2026-01-10T00:00:00.000Z" };
    expect(parseEvent("StripeSubscriptionCancelled", 1, cancelled).type).toBe("StripeSubscriptionCancelled");
    expect(() => parseEvent("StripeSubscriptionCancelled", 1, { ...cancelled, sourcePosition: "-1" })).toThrow(/sourcePosition/);
  });
});
