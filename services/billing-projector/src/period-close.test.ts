import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { billingStream, defaultBillingRules, type PlanPricing, type TollgateEvent } from "@tollgate/events";
import { InMemoryEventStore } from "@tollgate/eventstore";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { closeDuePeriods, periodToClose } from "./period-closer.js";
import { previewInvoice } from "./invoice-preview.js";
import { reconcileMonth } from "./reconciliation.js";
import { reRateMonth } from "./re-rating.js";
import { SqliteBillingRecords } from "./sqlite-billing-records.js";
import { SqliteBillingStore } from "./sqlite-billing-store.js";
import { appendFixtures, CountingStripe, projectLog } from "./test-support/projector-harness.js";
import { completed, consumerRegistered, planCreated, subscriptionStarted } from "./test-support/billing-fixtures.js";
import { UsageReporter } from "./usage-reporter.js";

const pricing: PlanPricing = { currency: "usd", flatFeeMinor: 1_000, includedUnits: 2, overageUnitPriceMinor: 5, tiers: null };
const october = (day: number): string => new Date(Date.UTC(2026, 9, day, 12)).toISOString();
const november = (day: number): string => new Date(Date.UTC(2026, 10, day, 12)).toISOString();
const now = Date.UTC(2026, 10, 10);
const graceMs = 3_600_000;

describe("period close and late events", () => {
  let dir: string;
  let log: InMemoryEventStore;
  let store: SqliteBillingStore;
  let stripe: CountingStripe;

  const openStore = (file: string, name = "billing-projector"): SqliteBillingStore =>
    SqliteBillingStore.open({ file: join(dir, file), synchronous: "normal", name, rulesFor: () => defaultBillingRules, settings: { rules: { defaults: defaultBillingRules, plans: {} }, graceMs } });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-billing-close-"));
    log = new InMemoryEventStore();
    store = openStore("billing.db");
    stripe = new CountingStripe();
  });

  afterEach(async () => {
    store.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const append = (events: readonly TollgateEvent[]): Promise<void> => appendFixtures(log, events);
  const project = (target: SqliteBillingStore = store): Promise<void> => projectLog(log, target);
  const close = () => closeDuePeriods({ subscriptions: () => store.subscriptions(), eventStore: log, graceMs, now: () => now });
  const reporter = () => new UsageReporter({ store, eventStore: log, sender: stripe, backoff: { initialMs: 1, maxMs: 2 }, pollIntervalMs: 10, now: () => now, random: () => 0 });

  it("closes a period once its grace window has passed, never one inside it", () => {
    const subscription = { subscriptionId: "sub-1", consumerId: "c", planId: "p", billingAnchor: null, closedThrough: null };
    expect(periodToClose(subscription, Date.UTC(2026, 10, 1, 0, 59), graceMs)).toEqual({ start: Date.UTC(2026, 8, 1), end: Date.UTC(2026, 9, 1) });
    expect(periodToClose(subscription, Date.UTC(2026, 10, 1, 1, 0), graceMs)).toEqual({ start: Date.UTC(2026, 9, 1), end: Date.UTC(2026, 10, 1) });
    expect(periodToClose({ ...subscription, closedThrough: Date.UTC(2026, 10, 1) }, Date.UTC(2026, 10, 20), graceMs)).toBeNull();
  });

  it("bills a request logged after its period closed as an adjustment of the next open period, and the reconciliation shows it", async () => {
    await append([planCreated("metered", "api_requests", pricing), consumerRegistered("consumer-1", "cus_1"), subscriptionStarted("sub-1", "consumer-1", "metered")]);
    await append([completed({ startedAt: october(3) }), completed({ startedAt: october(4) }), completed({ startedAt: october(5) }), completed({ startedAt: october(6) }, 503)]);
    await append([completed({ startedAt: november(2) }), completed({ startedAt: november(3) })]);
    await project();
    await reporter().drain();

    // October closes (1 h after its end), once: a second close before the projection saw the first appends nothing.
    expect((await close()).map((event) => event.data.periodEnd)).toEqual(["2026-11-01T00:00:00.000Z"]);
    const head = await log.headPosition();
    await close();
    expect(await log.headPosition()).toBe(head);
    await project();
    expect(store.subscriptions()[0]!.closedThrough).toBe(Date.UTC(2026, 10, 1));
    expect(await close()).toEqual([]);

    // A late October request: not put back into October.
    const late = completed({ startedAt: october(20) });
    await append([late]);
    await project();
    await reporter().drain();
    const usage = store.usage().map((doc) => [new Date(doc.periodStart).toISOString().slice(0, 7), new Date(doc.originPeriodStart).toISOString().slice(0, 7), doc.units]);
    expect(usage).toEqual([
      ["2026-10", "2026-10", 3],
      ["2026-11", "2026-10", 1],
      ["2026-11", "2026-11", 2],
    ]);
    const adjustment = store.reports().find((report) => report.originPeriodStart !== report.periodStart)!;
    expect(adjustment).toMatchObject({ status: "reported", units: 1, periodStart: Date.UTC(2026, 10, 1), originPeriodStart: Date.UTC(2026, 9, 1) });
    expect(adjustment.reportId).toMatch(/^tga_[0-9a-f]{48}$/);
    // Sent with a timestamp inside November, so that Stripe bills it there.
    expect(stripe.events.find((event) => event.identifier === adjustment.reportId)!.timestampSeconds * 1_000).toBe(Date.UTC(2026, 10, 1));
    expect(stripe.events.reduce((sum, event) => sum + event.value, 0)).toBe(6);
    const recorded = await log.readStream(billingStream("sub-1"));
    expect(recorded.map((event) => event.type).sort()).toEqual(["BillingPeriodClosed", "UsageAdjustmentReported", "UsageReported", "UsageReported"]);
    expect(recorded.find((event) => event.type === "UsageAdjustmentReported")!.data).toMatchObject({ units: 1, adjustsPeriodStart: "2026-10-01T00:00:00.000Z", periodStart: "2026-11-01T00:00:00.000Z" });

    const records = SqliteBillingRecords.open({ file: join(dir, "billing.db"), name: "billing-projector" });
    try {
      const octoberReport = await reconcileMonth({ eventStore: log, records, month: "2026-10" });
      expect(octoberReport.lines).toEqual([
        expect.objectContaining({
          subscriptionId: "sub-1",
          log: { onTime: 3, lateOut: 1, lateIn: 0, notYetProjected: 0 },
          projection: { units: 3, adjustedOut: 1, adjustedIn: 0 },
          ledger: { reported: 3, pending: 0, rejected: 0, unplanned: 0 },
          recordedInLog: 3,
          status: "explained",
          differences: ["1 units arrived after the period closed: reported as adjustments in a later period"],
        }),
      ]);
      const novemberReport = await reconcileMonth({ eventStore: log, records, month: "2026-11" });
      expect(novemberReport.lines[0]).toMatchObject({ log: { onTime: 2, lateOut: 0, lateIn: 1 }, projection: { units: 2, adjustedIn: 1 }, ledger: { reported: 3 }, recordedInLog: 3 });
      expect(novemberReport.totals).toMatchObject({ billedInPeriod: 3, reported: 3, pending: 0, unplanned: 0 });

      // The invoice preview of November: 2 own units (included), then the late one priced on top of them.
      const subscription = records.subscription("sub-1")!;
      const preview = previewInvoice({ subscriptionId: "sub-1", period: { start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) }, usage: records.usage("sub-1", Date.UTC(2026, 10, 1)), currentPricing: records.plan(subscription.planId)!.pricing });
      expect(preview.lines.map((line) => [line.lineId, line.units, line.amountMinor])).toEqual([
        ["api_requests/flat-fee", 0, 1_000],
        ["api_requests/included", 2, 0],
        ["api_requests/adjustment/2026-10-01T00:00:00.000Z", 1, 5],
      ]);
      expect(preview).toMatchObject({ units: 3, adjustmentUnits: 1, totalMinor: 1_005, currency: "usd" });
      // The receipt of the adjustment line: the late request.
      expect(records.requests({ subscriptionId: "sub-1", meterEventName: "api_requests", periodStart: Date.UTC(2026, 10, 1), originPeriodStart: Date.UTC(2026, 9, 1) }, 0, 10).map((row) => row.requestId)).toEqual([late.data.requestId]);
    } finally {
      records.close();
    }

    // A replay of the log from position 0 decides lateness the same way: the close is in the log.
    const replayed = openStore("replay.db");
    await project(replayed);
    expect(replayed.usage().map((doc) => [doc.periodStart, doc.originPeriodStart, doc.units])).toEqual(store.usage().map((doc) => [doc.periodStart, doc.originPeriodStart, doc.units]));
    replayed.close();
  });

  it("re-rates a past month with corrected prices as a dry run: the difference, and nothing written or sent", async () => {
    await append([planCreated("metered", "api_requests", pricing), consumerRegistered("consumer-1", "cus_1"), subscriptionStarted("sub-1", "consumer-1", "metered")]);
    await append(Array.from({ length: 5 }, (_, i) => completed({ startedAt: october(i + 1) })));
    await project();
    await reporter().drain();
    const before = { usage: store.usage(), reports: store.reports(), head: await log.headPosition(), sent: stripe.events.length };
    const records = SqliteBillingRecords.open({ file: join(dir, "billing.db"), name: "billing-projector" });
    try {
      const result = reRateMonth({ records, month: "2026-10", pricing: { ...pricing, overageUnitPriceMinor: 12 } });
      // 5 units: 2 included, 3 overage: 1000 + 3 × 5 = 1015 then, 1000 + 3 × 12 = 1036 corrected.
      expect(result.subscriptions.map((entry) => [entry.subscriptionId, entry.units, entry.original?.totalMinor, entry.corrected.totalMinor, entry.differenceMinor])).toEqual([["sub-1", 5, 1_015, 1_036, 21]]);
      expect(result.totals).toEqual({ originalMinor: 1_015, correctedMinor: 1_036, differenceMinor: 21 });
    } finally {
      records.close();
    }
    expect({ usage: store.usage(), reports: store.reports(), head: await log.headPosition(), sent: stripe.events.length }).toEqual(before);
  });
});
