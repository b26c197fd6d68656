import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Quota } from "@tollgate/events";
import { requestEventFixtures } from "@tollgate/events/testing";
import type { RecordedEvent } from "@tollgate/eventstore";
import { defaultBillingRules, SqliteQuotaStore } from "@tollgate/quota-projector";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixedClock } from "../runtime/clock.js";
import type { PlanView, SubscriptionView } from "./entity-views.js";
import { QuotaUsageReader } from "./quota-usage-reader.js";

const actor = { kind: "admin", id: "test" };
const daily: Quota = { limit: 50, period: "day", enforcement: "hard" };
const versioned = { version: 1, createdAt: "2025-01-01T00:00:00.000Z", updatedAt: "2025-01-01T00:00:00.000Z" };
const plan: PlanView = {
  ...versioned,
  id: "gold",
  name: "Gold",
  description: "",
  public: true,
  rateLimits: [],
  quota: daily,
  routes: ["*"],
  scopes: [],
  price: { stripePriceId: null, stripeMeterEventName: null },
  archived: false,
};
const anchor = "2025-01-10T08:30:00.000Z";
const subscription: SubscriptionView = { ...versioned, id: "sub-1", consumerId: "c1", planId: "gold", status: "active", billingAnchor: anchor };

let dir: string;
let position = 0n;
const closers: (() => void)[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tollgate-quota-usage-"));
  position = 0n;
});

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await rm(dir, { recursive: true, force: true });
});

function event(type: string, data: Record<string, unknown>, streamId: string): RecordedEvent {
  position += 1n;
  return { id: `e${position}`, type, version: 1, data, metadata: {}, streamId, revision: 0, position, recordedAt: new Date() };
}

const requests = requestEventFixtures({ planId: "gold" });

function request(type: "RequestCompleted" | "RequestRejected", startedAt: string, status = 200): RecordedEvent {
  const recorded = type === "RequestCompleted" ? requests.completed({ startedAt }, status) : requests.rejected({ startedAt });
  return event(type, recorded.data, "requests-gw-1");
}

/** The projector's own store class writes the file, as the running projector does. */
async function project(file: string, events: RecordedEvent[]): Promise<void> {
  const store = SqliteQuotaStore.open({ file, synchronous: "normal", name: "quota-projector", rulesFor: () => defaultBillingRules });
  try {
    await store.applyBatch(events, events.at(-1)!.position);
  } finally {
    store.close();
  }
}

function reader(file: string, now: string): QuotaUsageReader {
  const usage = new QuotaUsageReader({ file, projectorName: "quota-projector", clock: fixedClock(now) });
  closers.push(() => usage.close());
  return usage;
}

describe("QuotaUsageReader", () => {
  it("answers the current anchored period's counts from the projector's file, with its checkpoint", async () => {
    const file = join(dir, "quota-projector.db");
    await project(file, [
      event("PlanCreated", { planId: "gold", name: "Gold", description: "", public: true, rateLimits: [], quota: daily, routes: ["*"], scopes: [], price: plan.price, actor }, "plan-gold"),
      event("SubscriptionStarted", { subscriptionId: "sub-1", consumerId: "c1", planId: "gold", billingAnchor: anchor, actor }, "subscription-sub-1"),
      request("RequestCompleted", "2025-06-15T07:00:00.000Z"), // the previous period (it ends at 08:30)
      request("RequestCompleted", "2025-06-15T08:30:00.000Z"),
      request("RequestCompleted", "2025-06-15T09:00:00.000Z"),
      request("RequestCompleted", "2025-06-15T09:30:00.000Z", 503), // admitted, not billed
      request("RequestRejected", "2025-06-15T10:00:00.000Z"), // refused: not admitted
    ]);
    expect(reader(file, "2025-06-15T12:00:00.000Z").read(subscription, plan)).toEqual({
      subscriptionId: "sub-1",
      planId: "gold",
      period: "day",
      periodStart: "2025-06-15T08:30:00.000Z",
      periodEnd: "2025-06-16T08:30:00.000Z",
      billingAnchor: anchor,
      quota: daily,
      requests: 4,
      admitted: 3,
      billable: 2,
      remaining: 48,
      projected: true,
      checkpointPosition: "7",
    });
    // The next period has no requests yet.
    expect(reader(file, "2025-06-16T08:30:00.000Z").read(subscription, plan)).toMatchObject({
      periodStart: "2025-06-16T08:30:00.000Z",
      requests: 0,
      billable: 0,
      remaining: 50,
      projected: true,
    });
  });

  it("answers zero with projected: false until the projector's file exists, then reads it", async () => {
    const file = join(dir, "later.db");
    const usage = reader(file, "2025-06-15T12:00:00.000Z");
    expect(usage.read(subscription, plan)).toMatchObject({
      period: "day",
      periodStart: "2025-06-15T08:30:00.000Z",
      requests: 0,
      billable: 0,
      remaining: 50,
      projected: false,
      checkpointPosition: null,
    });
    await project(file, [
      event("PlanCreated", { planId: "gold", name: "Gold", description: "", public: true, rateLimits: [], quota: daily, routes: ["*"], scopes: [], price: plan.price, actor }, "plan-gold"),
      event("SubscriptionStarted", { subscriptionId: "sub-1", consumerId: "c1", planId: "gold", billingAnchor: anchor, actor }, "subscription-sub-1"),
      request("RequestCompleted", "2025-06-15T09:00:00.000Z"),
    ]);
    expect(usage.read(subscription, plan)).toMatchObject({ requests: 1, billable: 1, remaining: 49, projected: true, checkpointPosition: "3" });
  });

  it("reports a plan without a quota by month, with no remaining", () => {
    const usage = reader(join(dir, "none.db"), "2025-06-15T12:00:00.000Z");
    expect(usage.read({ ...subscription, billingAnchor: null }, { ...plan, quota: null })).toMatchObject({
      period: "month",
      periodStart: "2025-06-01T00:00:00.000Z",
      periodEnd: "2025-07-01T00:00:00.000Z",
      quota: null,
      remaining: null,
    });
  });
});
