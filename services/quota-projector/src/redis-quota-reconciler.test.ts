import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultBillingRules, layerBillingRules, parseEvent, type PlanUpdated, type Quota, quotaCounterKey, quotaWindow } from "@tollgate/events";
import { projectBatch, type UsageCounts } from "./quota-projection.js";
import { RedisQuotaReconciler } from "./redis-quota-reconciler.js";
import { completed, planCreated, subscriptionStarted, webSocketSession } from "./test-support/event-fixtures.js";

const redisUrl = process.env.TOLLGATE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const now = Date.parse("2025-06-15T12:00:00.000Z");
const day = { period: "day" as const, periodStart: Date.parse("2025-06-15T00:00:00.000Z"), periodEnd: Date.parse("2025-06-16T00:00:00.000Z") };

function usage(subscriptionId: string, admitted: number, billable: number): UsageCounts {
  return { subscriptionId, planId: "gold", ...day, quota: { limit: 500, period: "day", enforcement: "hard" }, requests: admitted, admitted, billable };
}

describe("RedisQuotaReconciler (the shared Redis, under a unique prefix)", () => {
  const prefix = `tollgate-test:quota-reconcile:${randomUUID()}:`;
  let client: Redis;
  let reconciler: RedisQuotaReconciler;

  beforeAll(async () => {
    client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    client.on("error", () => undefined);
    await client.connect();
    reconciler = new RedisQuotaReconciler({ client, keyPrefix: prefix, clock: () => now });
  });

  afterAll(async () => {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1_000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== "0");
    client.disconnect();
  });

  it("names the gateway's counter key", () => {
    expect(reconciler.counterKey(usage("sub-1", 0, 0))).toBe(`${prefix}sub-1:day:2025-06-15T00:00:00.000Z`);
  });

  it("refunds what the log says is not billable, once, however often it runs", async () => {
    const key = reconciler.counterKey(usage("sub-a", 0, 0));
    await client.set(key, "100", "PX", 3_600_000); // the gateways admitted 100
    const [first] = await reconciler.reconcile([usage("sub-a", 100, 93)]);
    expect(first).toMatchObject({ before: 100, after: 93, refunded: 7, restored: 0 });
    const [again] = await reconciler.reconcile([usage("sub-a", 100, 93)]);
    expect(again).toMatchObject({ before: 93, after: 93, refunded: 0 });
    // The gateways admit 10 more; the log now holds 105 admitted, 95 billable: 3 more to refund.
    await client.incrby(key, 10);
    const [later] = await reconciler.reconcile([usage("sub-a", 105, 95)]);
    expect(later).toMatchObject({ before: 103, after: 100, refunded: 3 });
    // The counter keeps the TTL the gateway gave it.
    expect(await client.pttl(key)).toBeGreaterThan(3_500_000);
  });

  it("restores a counter that Redis lost, up to the billable count in the log", async () => {
    const key = reconciler.counterKey(usage("sub-b", 0, 0));
    await client.set(key, "50", "PX", 3_600_000);
    await reconciler.reconcile([usage("sub-b", 50, 48)]);
    expect(await client.get(key)).toBe("48");
    // Data loss: both keys gone; the gateways have admitted 5 since, not yet in the log.
    await client.del(key, `${key}:refunded`);
    await client.incrby(key, 5);
    const [restored] = await reconciler.reconcile([usage("sub-b", 50, 48)]);
    expect(restored).toMatchObject({ before: 5, after: 48, refunded: 0, restored: 43 });
    // A missing counter is created, with a TTL to the end of the period plus retention.
    await client.del(key, `${key}:refunded`);
    await reconciler.reconcile([usage("sub-b", 50, 48)]);
    expect(await client.get(key)).toBe("48");
    expect(await client.pttl(key)).toBeGreaterThan(day.periodEnd + 6 * 86_400_000 - now);
  });

  it("takes more for WebSocket sessions billed per message: the counter ends at the units the log bills", async () => {
    const perMessage: PlanUpdated = { type: "PlanUpdated", version: 1, data: { planId: "gold", changes: { billing: { websocket: "per-message" } }, actor: { kind: "admin", id: "test" } } };
    const log = [
      planCreated("gold", { limit: 500, period: "day", enforcement: "hard" }),
      perMessage,
      subscriptionStarted("sub-ws", "gold"),
      completed({ subscriptionId: "sub-ws", n: 1 }),
      completed({ subscriptionId: "sub-ws", n: 2 }, 503),
      webSocketSession({ subscriptionId: "sub-ws", n: 3 }, { fromClient: 40, fromUpstream: 2 }),
      webSocketSession({ subscriptionId: "sub-ws", n: 4 }, { fromClient: 0, fromUpstream: 0 }),
    ].map((event) => parseEvent(event.type, event.version, event.data));
    const changes = projectBatch(log, { plan: () => null, subscription: () => null, usage: () => null }, (_planId, planRules) => layerBillingRules(defaultBillingRules, planRules));
    const row = [...changes.usage.values()][0]!;
    // 1 + 0 + 42 + 0 units for 4 admitted requests: the gateways took 4, one per request (a session's at its handshake).
    expect(row).toMatchObject({ admitted: 4, billable: 43 });
    const key = reconciler.counterKey(row);
    await client.set(key, "4", "PX", 3_600_000);
    const [first] = await reconciler.reconcile([row]);
    expect(first).toMatchObject({ before: 4, after: 43, charged: 39, refunded: 0, restored: 0 });
    expect(await client.get(key)).toBe("43");
    const [again] = await reconciler.reconcile([row]);
    expect(again).toMatchObject({ before: 43, after: 43, charged: 0, refunded: 0, restored: 0 });
    // Redis loses both keys: the counter comes back at the log's units, the charge and the floor each saying their part.
    await client.del(key, `${key}:refunded`);
    const [restored] = await reconciler.reconcile([row]);
    expect(restored).toMatchObject({ before: 0, after: 43, charged: 39, restored: 4 });
  });

  it("leaves rows without a quota and periods past retention alone", async () => {
    const noQuota = { ...usage("sub-c", 3, 1), quota: null };
    const old = { ...usage("sub-d", 3, 1), periodStart: day.periodStart - 30 * 86_400_000, periodEnd: day.periodEnd - 30 * 86_400_000 };
    expect(await reconciler.reconcile([noQuota, old])).toEqual([]);
  });
});

describe("RedisQuotaReconciler on anchored periods: the gateway's counter, from the projection's row", () => {
  const prefix = `tollgate-test:quota-reconcile-anchored:${randomUUID()}:`;
  const anchor = Date.parse("2025-01-31T10:00:00.000Z");
  const dailyAnchor = Date.parse("2025-01-10T08:30:00.000Z");
  let client: Redis;

  beforeAll(async () => {
    client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    client.on("error", () => undefined);
    await client.connect();
  });

  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  });

  /** The projection's row for `requests` requests of an anchored subscription, all at `at`. */
  function projectedRow(subscriptionId: string, billingAnchor: number, quota: Quota, at: string, statuses: number[]): UsageCounts {
    const log = [
      planCreated("gold", quota),
      subscriptionStarted(subscriptionId, "gold", new Date(billingAnchor).toISOString()),
      ...statuses.map((status, n) => completed({ subscriptionId, startedAt: at, n }, status)),
    ].map((event) => parseEvent(event.type, event.version, event.data));
    const changes = projectBatch(log, { plan: () => null, subscription: () => null, usage: () => null }, () => defaultBillingRules);
    const [row, ...others] = [...changes.usage.values()];
    expect(others).toEqual([]);
    return row!;
  }

  const cases: [string, number, Quota, string, string][] = [
    ["a daily period at the anchor's time of day", dailyAnchor, { limit: 50, period: "day", enforcement: "hard" }, "2025-06-15T07:00:00.000Z", "day:2025-06-14T08:30:00.000Z"],
    ["a monthly period on the anchor's day", Date.parse("2024-03-15T00:00:00.000Z"), { limit: 50, period: "month", enforcement: "hard" }, "2025-06-20T00:00:00.000Z", "month:2025-06-15T00:00:00.000Z"],
    ["an anchor on the 31st, in February", anchor, { limit: 50, period: "month", enforcement: "hard" }, "2025-03-30T12:00:00.000Z", "month:2025-02-28T10:00:00.000Z"],
  ];

  it.each(cases)("%s: refunds and restores the counter the gateway counted in", async (_what, billingAnchor, quota, at, suffix) => {
    const subscriptionId = `sub-${randomUUID().slice(0, 8)}`;
    const now = Date.parse(at);
    const reconciler = new RedisQuotaReconciler({ client, keyPrefix: prefix, clock: () => now });
    // What the gateway's QuotaLimiter computes for a request at `at`: the same two functions, from @tollgate/events.
    const gatewayKey = quotaCounterKey(prefix, subscriptionId, quotaWindow(now, quota.period, billingAnchor));
    expect(gatewayKey).toBe(`${prefix}${subscriptionId}:${suffix}`);
    await client.set(gatewayKey, "5", "PX", 3_600_000); // the gateways admitted 5
    const row = projectedRow(subscriptionId, billingAnchor, quota, at, [200, 200, 503, 200, 503]);
    expect(reconciler.counterKey(row)).toBe(gatewayKey);
    const [result] = await reconciler.reconcile([row]);
    expect(result).toMatchObject({ key: gatewayKey, before: 5, after: 3, refunded: 2 });
    // Redis loses the counter: it comes back, at the same anchored key.
    await client.del(gatewayKey, `${gatewayKey}:refunded`);
    await reconciler.reconcile([row]);
    expect(await client.get(gatewayKey)).toBe("3");
    // Nothing was written under the calendar period's key.
    const calendarKey = quotaCounterKey(prefix, subscriptionId, quotaWindow(now, quota.period));
    expect(calendarKey).not.toBe(gatewayKey);
    expect(await client.exists(calendarKey)).toBe(0);
  });
});
