import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { billingStream, streams, stripeCustomerStream, type TollgateEvent } from "@tollgate/events";
import { InMemoryEventStore } from "@tollgate/eventstore";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MeterEventError } from "../stripe-meter-sender.js";
import { consumerRegistered, planCreated, subscriptionPlanChanged, subscriptionStarted } from "../test-support/billing-fixtures.js";
import type { CreateCustomerInput, CreateSubscriptionInput, StripeBillingClient } from "./stripe-billing-client.js";
import { StripeCustomerLinks } from "./stripe-customer-links.js";
import { StripeSync } from "./stripe-sync.js";

type Call = { op: string; key: string; args: unknown };

/** A fake Stripe with Stripe's idempotency: a known key replays the first answer. Scripted errors are thrown before anything happens. */
class FakeStripe implements StripeBillingClient {
  readonly calls: Call[] = [];
  readonly script: MeterEventError[] = [];
  readonly customers = new Map<string, CreateCustomerInput>();
  readonly subscriptions = new Map<string, { input: CreateSubscriptionInput; price: string; status: string }>();
  readonly #answers = new Map<string, unknown>();

  #run<T>(op: string, key: string, args: unknown, execute: () => T): Promise<T> {
    this.calls.push({ op, key, args });
    const error = this.script.shift();
    if (error !== undefined) return Promise.reject(error);
    if (this.#answers.has(key)) return Promise.resolve(this.#answers.get(key) as T);
    const answer = execute();
    this.#answers.set(key, answer);
    return Promise.resolve(answer);
  }

  createCustomer(input: CreateCustomerInput, key: string) {
    return this.#run("createCustomer", key, input, () => {
      const id = `cus_${this.customers.size + 1}`;
      this.customers.set(id, input);
      return { stripeCustomerId: id };
    });
  }

  createSubscription(input: CreateSubscriptionInput, key: string) {
    return this.#run("createSubscription", key, input, () => {
      const id = `sub_${this.subscriptions.size + 1}`;
      this.subscriptions.set(id, { input, price: input.stripePriceId, status: "active" });
      return { stripeSubscriptionId: id, stripeSubscriptionItemId: `si_${this.subscriptions.size}` };
    });
  }

  changeSubscriptionPrice(input: { stripeSubscriptionId: string; stripeSubscriptionItemId: string; stripePriceId: string }, key: string) {
    return this.#run("changeSubscriptionPrice", key, input, () => {
      this.subscriptions.get(input.stripeSubscriptionId)!.price = input.stripePriceId;
    });
  }

  cancelSubscription(stripeSubscriptionId: string, key: string) {
    return this.#run("cancelSubscription", key, stripeSubscriptionId, () => {
      this.subscriptions.get(stripeSubscriptionId)!.status = "canceled";
    });
  }

  ops(): string[] {
    return this.calls.map((call) => call.op);
  }
}

const admin = { kind: "admin" as const, id: "ops" };

describe("Stripe sync over a log", () => {
  let dir: string;
  let log: InMemoryEventStore;
  let links: StripeCustomerLinks;
  let stripe: FakeStripe;
  let sync: StripeSync;
  let linkedKicks: number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-stripe-sync-"));
    log = new InMemoryEventStore();
    links = StripeCustomerLinks.open({ file: join(dir, "billing.db"), synchronous: "normal" });
    stripe = new FakeStripe();
    linkedKicks = 0;
    sync = new StripeSync({
      name: "billing-projector-stripe-sync",
      eventStore: log,
      client: stripe,
      links,
      backoff: { initialMs: 1, maxMs: 2 },
      onCustomerLinked: () => (linkedKicks += 1),
      now: () => Date.UTC(2026, 0, 10),
    });
  });

  afterEach(async () => {
    links.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const append = async (stream: string, event: TollgateEvent): Promise<void> => {
    await log.append(stream, [{ id: crypto.randomUUID(), type: event.type, version: event.version, data: event.data }]);
  };

  /** Delivers the whole log, as the runner does from position 0, to the sync; returns how many events it was given. */
  const deliverAll = async (): Promise<number> => {
    const filter = sync.projector().filter!;
    let delivered = 0;
    let from = 0n;
    for (;;) {
      const page = await log.readAll({ from, limit: 1_000, filter });
      // Events appended while handling (the link events) are delivered in later pages, as a live subscription would.
      if (page.length === 0) return delivered;
      for (const event of page) await sync.handleEvent(event);
      delivered += page.length;
      from = page.at(-1)!.position;
    }
  };

  const billingRecords = async (subscriptionId: string) => (await log.readStream(billingStream(subscriptionId))).map((event) => event.type);

  const seed = async (): Promise<void> => {
    await append(streams.plan("gold"), planCreated("gold", "api_requests"));
    await append(streams.plan("platinum"), planCreated("platinum", "api_requests"));
    await append(streams.plan("free"), planCreated("free", null));
    await append(streams.consumer("acme"), consumerRegistered("acme", null));
  };

  it("creates one customer and one subscription on the plan's price, records both, and a replay calls Stripe no more", async () => {
    await seed();
    await append(streams.subscription("sub-1"), subscriptionStarted("sub-1", "acme", "gold"));
    await deliverAll();

    expect(stripe.ops()).toEqual(["createCustomer", "createSubscription"]);
    expect(stripe.calls[0]!.key).toBe("tollgate-customer-acme");
    expect(stripe.calls[1]!.key).toMatch(/^tollgate-subscription-sub-1-\d+$/);
    expect([...stripe.subscriptions.values()][0]).toMatchObject({ input: { stripeCustomerId: "cus_1", stripePriceId: "price_gold", subscriptionId: "sub-1" } });
    expect(await billingRecords("sub-1")).toEqual(["StripeSubscriptionLinked"]);
    const customerLinks = await log.readStream(stripeCustomerStream("acme"));
    expect(customerLinks.map((event) => [event.type, (event.data as { stripeCustomerId: string }).stripeCustomerId])).toEqual([["StripeCustomerLinked", "cus_1"]]);
    // The link came back through the subscription and is where the usage reporter looks.
    expect(links.get("acme")).toBe("cus_1");
    expect(linkedKicks).toBe(1);

    await deliverAll();
    expect(stripe.ops()).toEqual(["createCustomer", "createSubscription"]);
    expect(await billingRecords("sub-1")).toEqual(["StripeSubscriptionLinked"]);
  });

  it("retries 429/5xx/timeouts with the same idempotency key until Stripe answers; never skips the step", async () => {
    await seed();
    await append(streams.subscription("sub-1"), subscriptionStarted("sub-1", "acme", "gold"));
    stripe.script.push(new MeterEventError("rate-limited", 429, "slow down"), new MeterEventError("server-error", 500, "boom"), new MeterEventError("timeout", null, "timed out"));
    await deliverAll();

    expect(stripe.ops()).toEqual(["createCustomer", "createCustomer", "createCustomer", "createCustomer", "createSubscription"]);
    expect(new Set(stripe.calls.slice(0, 4).map((call) => call.key))).toEqual(new Set(["tollgate-customer-acme"]));
    expect(stripe.customers.size).toBe(1);
    expect(sync.stats()).toMatchObject({ steps: 2, retries: 3, failed: 0 });
  });

  it("a second paid subscription of the same consumer reuses its customer; a plan change swaps the price; cancellation cancels", async () => {
    await seed();
    await append(streams.subscription("sub-1"), subscriptionStarted("sub-1", "acme", "gold"));
    await append(streams.subscription("sub-2"), subscriptionStarted("sub-2", "acme", "platinum"));
    await append(streams.subscription("sub-1"), subscriptionPlanChanged("sub-1", "acme", "gold", "platinum"));
    await append(streams.subscription("sub-2"), { type: "SubscriptionCancelled", version: 1, data: { subscriptionId: "sub-2", consumerId: "acme", reason: null, actor: admin } });
    await deliverAll();

    expect(stripe.ops()).toEqual(["createCustomer", "createSubscription", "createSubscription", "changeSubscriptionPrice", "cancelSubscription"]);
    expect(stripe.customers.size).toBe(1);
    expect(stripe.subscriptions.get("sub_1")).toMatchObject({ price: "price_platinum", status: "active" });
    expect(stripe.subscriptions.get("sub_2")).toMatchObject({ price: "price_platinum", status: "canceled" });
    expect(await billingRecords("sub-1")).toEqual(["StripeSubscriptionLinked", "StripeSubscriptionPriceChanged"]);
    expect(await billingRecords("sub-2")).toEqual(["StripeSubscriptionLinked", "StripeSubscriptionCancelled"]);

    await deliverAll();
    expect(stripe.calls).toHaveLength(5);
  });

  it("a cancellation Stripe made itself is recorded without calling Stripe", async () => {
    await seed();
    await append(streams.subscription("sub-1"), subscriptionStarted("sub-1", "acme", "gold"));
    await append(streams.subscription("sub-1"), {
      type: "SubscriptionCancelled",
      version: 1,
      data: { subscriptionId: "sub-1", consumerId: "acme", reason: "customer.subscription.deleted", actor: { kind: "system", id: "stripe-webhooks" } },
    });
    await deliverAll();
    expect(stripe.ops()).toEqual(["createCustomer", "createSubscription"]);
    const records = await log.readStream(billingStream("sub-1"));
    expect(records.at(-1)).toMatchObject({ type: "StripeSubscriptionCancelled", data: { reason: "cancelled-in-stripe" } });
  });

  it("a step Stripe refuses for good is recorded as StripeSyncFailed and not retried on replay; a labelled customer is used as is", async () => {
    await seed();
    await append(streams.consumer("globex"), consumerRegistered("globex", "cus_label"));
    await append(streams.subscription("sub-9"), subscriptionStarted("sub-9", "globex", "gold"));
    stripe.script.push(new MeterEventError("rejected", 400, "No such price: 'price_gold'"));
    await deliverAll();
    await deliverAll();

    expect(stripe.ops()).toEqual(["createSubscription"]);
    const records = await log.readStream(billingStream("sub-9"));
    expect(records.map((event) => event.data)).toEqual([expect.objectContaining({ step: "create-subscription", statusCode: 400, message: "No such price: 'price_gold'" })]);
    expect((await log.readStream(stripeCustomerStream("globex"))).map((event) => event.data)).toEqual([expect.objectContaining({ stripeCustomerId: "cus_label", source: "label" })]);
  });

  it("nothing happens in Stripe for a plan without a price", async () => {
    await seed();
    await append(streams.subscription("sub-free"), subscriptionStarted("sub-free", "acme", "free"));
    expect(await deliverAll()).toBe(1);
    expect(stripe.calls).toEqual([]);
  });
});
