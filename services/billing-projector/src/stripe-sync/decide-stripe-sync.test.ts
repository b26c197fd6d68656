import type { SubscriptionEvent } from "@tollgate/events";
import { describe, expect, it } from "vitest";
import { decideStripeSync, emptySubscriptionRecord, evolveSubscriptionRecord, type StripeSyncFacts, type SubscriptionRecord } from "./decide-stripe-sync.js";

const admin = { kind: "admin" as const, id: "ops" };
const started: SubscriptionEvent = { type: "SubscriptionStarted", version: 1, data: { subscriptionId: "sub-1", consumerId: "acme", planId: "gold", actor: admin } };
const changed = (toPlanId: string): SubscriptionEvent => ({
  type: "SubscriptionPlanChanged",
  version: 1,
  data: { subscriptionId: "sub-1", consumerId: "acme", fromPlanId: "gold", toPlanId, actor: admin },
});
const cancelled = (actor: SubscriptionEvent["data"]["actor"]): SubscriptionEvent => ({
  type: "SubscriptionCancelled",
  version: 1,
  data: { subscriptionId: "sub-1", consumerId: "acme", reason: null, actor },
});

const consumer = { name: "Acme", email: "billing@acme.test", labelledStripeCustomerId: null };
const facts = (overrides: Partial<StripeSyncFacts> = {}): StripeSyncFacts => ({
  record: emptySubscriptionRecord,
  stripePriceId: "price_gold",
  consumer,
  linkedStripeCustomerId: null,
  ...overrides,
});

const linkedRecord: SubscriptionRecord = evolveSubscriptionRecord(emptySubscriptionRecord, {
  type: "StripeSubscriptionLinked",
  version: 1,
  data: {
    subscriptionId: "sub-1",
    consumerId: "acme",
    planId: "gold",
    stripeCustomerId: "cus_1",
    stripeSubscriptionId: "sub_s1",
    stripeSubscriptionItemId: "si_1",
    stripePriceId: "price_gold",
    sourcePosition: "7",
    linkedAt: "2026-01-01T00:00:00.000Z",
  },
});

describe("decideStripeSync", () => {
  it("a subscription to a priced plan creates the consumer's customer, then the subscription on the plan's price", () => {
    expect(decideStripeSync(started, 7n, facts())).toEqual({
      kind: "create-subscription",
      subscriptionId: "sub-1",
      consumerId: "acme",
      planId: "gold",
      stripePriceId: "price_gold",
      customer: { kind: "create", name: "Acme", email: "billing@acme.test" },
    });
  });

  it("the consumer's stripeCustomerId label wins over a link, and a link over creating a customer", () => {
    const labelled = facts({ consumer: { ...consumer, labelledStripeCustomerId: "cus_label" }, linkedStripeCustomerId: "cus_linked" });
    expect(decideStripeSync(started, 7n, labelled)).toMatchObject({ customer: { kind: "label", stripeCustomerId: "cus_label" } });
    expect(decideStripeSync(started, 7n, facts({ linkedStripeCustomerId: "cus_linked" }))).toMatchObject({ customer: { kind: "linked", stripeCustomerId: "cus_linked" } });
  });

  it("does nothing for a plan without a Stripe price, or for a step the log already records (replay)", () => {
    expect(decideStripeSync(started, 7n, facts({ stripePriceId: null }))).toBeNull();
    expect(decideStripeSync(started, 7n, facts({ record: linkedRecord }))).toBeNull();
    expect(decideStripeSync(changed("platinum"), 7n, facts({ record: linkedRecord, stripePriceId: "price_platinum" }))).toBeNull();
  });

  it("a plan change moves the item to the new price, cancels on an unpriced plan, and does nothing on the same price", () => {
    expect(decideStripeSync(changed("platinum"), 9n, facts({ record: linkedRecord, stripePriceId: "price_platinum" }))).toMatchObject({
      kind: "change-price",
      toStripePriceId: "price_platinum",
      link: { stripeSubscriptionId: "sub_s1", stripeSubscriptionItemId: "si_1", stripePriceId: "price_gold" },
    });
    expect(decideStripeSync(changed("free"), 9n, facts({ record: linkedRecord, stripePriceId: null }))).toMatchObject({ kind: "cancel", reason: "plan-unpriced", callStripe: true });
    expect(decideStripeSync(changed("gold-2"), 9n, facts({ record: linkedRecord, stripePriceId: "price_gold" }))).toBeNull();
    // Not linked yet (it was on a free plan): moving to a priced plan creates it.
    expect(decideStripeSync(changed("gold"), 9n, facts())).toMatchObject({ kind: "create-subscription", planId: "gold" });
  });

  it("a cancellation cancels in Stripe, except one Stripe made itself (the webhook's actor): that is only recorded", () => {
    expect(decideStripeSync(cancelled(admin), 11n, facts({ record: linkedRecord }))).toMatchObject({ kind: "cancel", reason: "subscription-cancelled", callStripe: true });
    expect(decideStripeSync(cancelled({ kind: "system", id: "stripe-webhooks" }), 11n, facts({ record: linkedRecord }))).toMatchObject({
      kind: "cancel",
      reason: "cancelled-in-stripe",
      callStripe: false,
    });
    expect(decideStripeSync(cancelled(admin), 11n, facts())).toBeNull();
  });
});
