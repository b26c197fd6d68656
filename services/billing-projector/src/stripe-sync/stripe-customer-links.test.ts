import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultBillingRules } from "@tollgate/events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteBillingStore } from "../sqlite-billing-store.js";
import { completed, consumerLabelled, consumerRegistered, planCreated, recorded, subscriptionStarted } from "../test-support/billing-fixtures.js";
import { StripeCustomerLinks } from "./stripe-customer-links.js";

const now = Date.UTC(2025, 5, 25);
const june = (day: number): string => new Date(Date.UTC(2025, 5, day, 12)).toISOString();

describe("the report planner finds the Stripe customer from the sync's links", () => {
  let dir: string;
  let store: SqliteBillingStore;
  let links: StripeCustomerLinks;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-links-"));
    const file = join(dir, "billing.db");
    store = SqliteBillingStore.open({ file, synchronous: "normal", name: "billing-projector", rulesFor: () => defaultBillingRules });
    links = StripeCustomerLinks.open({ file, synchronous: "normal" });
    const batch = recorded([
      planCreated("metered", "api_requests"),
      consumerRegistered("acme", null),
      subscriptionStarted("sub-1", "acme", "metered"),
      completed({ subscriptionId: "sub-1", planId: "metered", startedAt: june(2) }),
      completed({ subscriptionId: "sub-1", planId: "metered", startedAt: june(3) }),
    ]);
    await store.applyBatch(batch, batch.at(-1)!.position);
  });

  afterEach(() => {
    links.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("usage waits without a customer, is planned for the linked one, and a later link never replaces a newer one", () => {
    expect(store.planReports(now)).toEqual([]);
    links.link("acme", "cus_created", 10n);
    links.link("acme", "cus_older", 4n);
    expect(links.get("acme")).toBe("cus_created");
    expect(store.planReports(now)).toEqual([expect.objectContaining({ subscriptionId: "sub-1", units: 2, stripeCustomerId: "cus_created" })]);
  });

  it("the consumer's stripeCustomerId label overrides the link", async () => {
    links.link("acme", "cus_created", 10n);
    const batch = recorded([consumerLabelled("acme", "cus_label")], 6);
    await store.applyBatch(batch, batch.at(-1)!.position);
    expect(store.planReports(now)).toEqual([expect.objectContaining({ stripeCustomerId: "cus_label" })]);
  });
});
