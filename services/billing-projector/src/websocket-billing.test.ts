import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { billingStream, defaultBillingRules, type PlanPricing, type TollgateEvent } from "@tollgate/events";
import { InMemoryEventStore } from "@tollgate/eventstore";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveBillingRules } from "./billing-rules-resolver.js";
import { previewInvoice } from "./invoice-preview.js";
import { reconcileMonth } from "./reconciliation.js";
import { SqliteBillingRecords } from "./sqlite-billing-records.js";
import { SqliteBillingStore } from "./sqlite-billing-store.js";
import { appendFixtures, CountingStripe, projectLog } from "./test-support/projector-harness.js";
import { completed, consumerRegistered, planBillingChanged, planCreated, subscriptionStarted, webSocketSession } from "./test-support/billing-fixtures.js";
import { UsageReporter } from "./usage-reporter.js";

/** Counts each identifier once, as Stripe's meter events do. */

const pricing: PlanPricing = { currency: "usd", flatFeeMinor: 1_000, includedUnits: 10, overageUnitPriceMinor: 5, tiers: null };
const november = (day: number): string => new Date(Date.UTC(2026, 10, day, 12)).toISOString();
const now = Date.UTC(2026, 10, 20);
const key = { subscriptionId: "sub-1", meterEventName: "api_requests", periodStart: Date.UTC(2026, 10, 1), originPeriodStart: Date.UTC(2026, 10, 1) };

describe("WebSocket sessions billed per message and per minute, through the projector, its SQLite store and the reporter", () => {
  let dir: string;
  let log: InMemoryEventStore;
  let store: SqliteBillingStore;
  let stripe: CountingStripe;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-billing-ws-"));
    log = new InMemoryEventStore();
    store = SqliteBillingStore.open({
      file: join(dir, "billing.db"),
      synchronous: "normal",
      name: "billing-projector",
      rulesFor: resolveBillingRules(defaultBillingRules, {}),
      settings: { rules: { defaults: defaultBillingRules, plans: {} }, graceMs: 3_600_000 },
    });
    stripe = new CountingStripe();
  });

  afterEach(async () => {
    store.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const append = (events: readonly TollgateEvent[]): Promise<void> => appendFixtures(log, events);
  const project = (): Promise<void> => projectLog(log, store);
  const report = () => new UsageReporter({ store, eventStore: log, sender: stripe, backoff: { initialMs: 1, maxMs: 2 }, pollIntervalMs: 10, now: () => now, random: () => 0 }).drain();

  it("bills a session its messages: usage, Stripe's total, the preview, receipts split at the included/overage boundary, a balanced reconciliation", async () => {
    const plain = [completed({ startedAt: november(2) }), completed({ startedAt: november(2) }), completed({ startedAt: november(3) })];
    const session = webSocketSession({ startedAt: november(4) }, { fromClient: 40, fromUpstream: 2 });
    const silent = webSocketSession({ startedAt: november(4) }, { fromClient: 0, fromUpstream: 0 });
    const after = [completed({ startedAt: november(5) }), completed({ startedAt: november(5) }), completed({ startedAt: november(6) })];
    await append([
      planCreated("metered", "api_requests", pricing),
      planBillingChanged("metered", { websocket: "per-message" }),
      consumerRegistered("consumer-1", "cus_1"),
      subscriptionStarted("sub-1", "consumer-1", "metered"),
      ...plain,
      session, // units 4 to 45: 7 included, 35 overage
      silent, // no messages: 0 units, not billed
      completed({ startedAt: november(4) }, 503), // not billable
      ...after, // units 46 to 48
    ]);
    await project();
    await report();

    // 3 + 42 + 3 units.
    expect(store.usage().map((usage) => usage.units)).toEqual([48]);
    expect(store.stats()).toMatchObject({ billableUnits: 48, reportedUnits: 48, unplannedUnits: 0, pendingReports: 0 });
    expect(stripe.total()).toBe(48);
    const recorded = await log.readStream(billingStream("sub-1"));
    expect(recorded.reduce((sum, event) => sum + (event.data as { units: number }).units, 0)).toBe(48);

    const records = SqliteBillingRecords.open({ file: join(dir, "billing.db"), name: "billing-projector" });
    try {
      const preview = previewInvoice({ subscriptionId: "sub-1", period: { start: key.periodStart, end: Date.UTC(2026, 11, 1) }, usage: records.usage("sub-1", key.periodStart), currentPricing: pricing });
      expect(preview.lines.map((line) => [line.lineId, line.units, line.amountMinor, line.receipt?.firstUnit ?? null])).toEqual([
        ["api_requests/flat-fee", 0, 1_000, null],
        ["api_requests/included", 10, 0, 1],
        ["api_requests/overage", 38, 190, 11],
      ]);
      expect(preview.totalMinor).toBe(1_190);

      // The receipts go by units: the session is on both lines, with the units it has on each.
      const receipt = (lineId: string, cursor: number, limit: number) => {
        const line = preview.lines.find((candidate) => candidate.lineId === lineId)!;
        const page = records.receiptPage(key, { firstUnit: line.receipt!.firstUnit, units: line.units }, cursor, limit);
        return { items: page.items.map((item) => [item.requestId, item.units, item.requestUnits]), nextCursor: page.nextCursor };
      };
      expect(receipt("api_requests/included", 0, 100)).toEqual({
        items: [[id(plain[0]!), 1, 1], [id(plain[1]!), 1, 1], [id(plain[2]!), 1, 1], [id(session), 7, 42]],
        nextCursor: null,
      });
      expect(receipt("api_requests/overage", 0, 100)).toEqual({
        items: [[id(session), 35, 42], [id(after[0]!), 1, 1], [id(after[1]!), 1, 1], [id(after[2]!), 1, 1]],
        nextCursor: null,
      });
      // Pages hold at most `limit` requests; the cursor counts the line's units.
      expect(receipt("api_requests/overage", 0, 2)).toEqual({ items: [[id(session), 35, 42], [id(after[0]!), 1, 1]], nextCursor: 36 });
      expect(receipt("api_requests/overage", 36, 2)).toEqual({ items: [[id(after[1]!), 1, 1], [id(after[2]!), 1, 1]], nextCursor: null });
      // `requests` reads a range of units: units 9 to 12 are the session's.
      expect(records.requests(key, 8, 4).map((item) => [item.requestId, item.units])).toEqual([[id(session), 4]]);

      const reconciliation = await reconcileMonth({ eventStore: log, records, month: "2026-11" });
      expect(reconciliation.lines).toEqual([
        expect.objectContaining({
          log: { onTime: 48, lateOut: 0, lateIn: 0, notYetProjected: 0 },
          projection: { units: 48, adjustedOut: 0, adjustedIn: 0 },
          ledger: { reported: 48, pending: 0, rejected: 0, unplanned: 0 },
          recordedInLog: 48,
          status: "balanced",
        }),
      ]);
    } finally {
      records.close();
    }

    // The plan moves to per-minute: a session of 125 s after that bills 3, the earlier ones stay as billed.
    const minutes = webSocketSession({ startedAt: november(7) }, { fromClient: 500, fromUpstream: 500 }, 125_000);
    await append([planBillingChanged("metered", { websocket: "per-minute" }), minutes]);
    await project();
    await report();
    expect(store.usage().map((usage) => usage.units)).toEqual([51]);
    expect(stripe.total()).toBe(51);
    const again = SqliteBillingRecords.open({ file: join(dir, "billing.db"), name: "billing-projector" });
    try {
      expect(again.requests(key, 48, 10).map((item) => [item.requestId, item.units, item.requestUnits])).toEqual([[id(minutes), 3, 3]]);
      expect(await reconcileMonth({ eventStore: log, records: again, month: "2026-11" })).toMatchObject({ status: "balanced", totals: { billable: 51, reported: 51 } });
    } finally {
      again.close();
    }
  });
});

function id(event: TollgateEvent): string {
  return (event.data as { requestId: string }).requestId;
}
