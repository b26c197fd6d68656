import { describe, expect, it } from "vitest";
import { stripeWebhookSubject } from "./stripe-webhook-subject.js";

describe("stripeWebhookSubject", () => {
  it("reads an invoice's subscription from parent.subscription_details (API 2025-03-31 and later)", () => {
    const invoice = { id: "in_1", parent: { type: "subscription_details", subscription_details: { subscription: "sub_s1", metadata: { tollgateSubscriptionId: "sub-1" } } } };
    expect(stripeWebhookSubject("invoice.payment_failed", invoice)).toEqual({ stripeSubscriptionId: "sub_s1", tollgateSubscriptionId: "sub-1" });
  });

  it("reads the older invoice shape (subscription, subscription_details.metadata) and an expanded subscription", () => {
    expect(stripeWebhookSubject("invoice.paid", { id: "in_1", subscription: "sub_s2", subscription_details: { metadata: { tollgateSubscriptionId: "sub-2" } } })).toEqual({
      stripeSubscriptionId: "sub_s2",
      tollgateSubscriptionId: "sub-2",
    });
    expect(stripeWebhookSubject("invoice.paid", { id: "in_1", subscription: { id: "sub_s3", metadata: { tollgateSubscriptionId: "sub-3" } } })).toEqual({
      stripeSubscriptionId: "sub_s3",
      tollgateSubscriptionId: "sub-3",
    });
  });

  it("reads a subscription event's object, and finds nothing in other events or malformed objects", () => {
    expect(stripeWebhookSubject("customer.subscription.deleted", { id: "sub_s4", metadata: {} })).toEqual({ stripeSubscriptionId: "sub_s4", tollgateSubscriptionId: null });
    expect(stripeWebhookSubject("customer.created", { id: "cus_1" })).toEqual({ stripeSubscriptionId: null, tollgateSubscriptionId: null });
    expect(stripeWebhookSubject("invoice.paid", null)).toEqual({ stripeSubscriptionId: null, tollgateSubscriptionId: null });
    expect(stripeWebhookSubject("invoice.paid", { parent: { subscription_details: { subscription: 42, metadata: { tollgateSubscriptionId: 7 } } } })).toEqual({
      stripeSubscriptionId: null,
      tollgateSubscriptionId: null,
    });
  });
});
