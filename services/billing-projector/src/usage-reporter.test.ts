import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { billingStream, defaultBillingRules, type TollgateEvent, UsageReported } from "@tollgate/events";
import { InMemoryEventStore } from "@tollgate/eventstore";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteBillingStore } from "./sqlite-billing-store.js";
import { MeterEventError, type MeterEventRequest, type MeterEventSender } from "./stripe-meter-sender.js";
import { completed, consumerLabelled, consumerRegistered, planCreated, recorded, rejected, subscriptionStarted } from "./test-support/billing-fixtures.js";
import { UsageReporter } from "./usage-reporter.js";

/** A fake Stripe that behaves as the meter events API does for the reporter: counts an identifier once, replays a known idempotency key. */
class FakeStripe implements MeterEventSender {
  readonly counted = new Map<string, MeterEventRequest>();
  readonly calls: { identifier: string; idempotencyKey: string; outcome: string }[] = [];
  /** Outcomes for the next calls: an error to throw before counting, "accept-then-fail" to count and then throw, or "ok". */
  readonly script: (MeterEventError | "accept-then-fail" | "ok")[] = [];

  send(event: MeterEventRequest, idempotencyKey: string): Promise<void> {
    const step = this.script.shift() ?? "ok";
    this.calls.push({ identifier: event.identifier, idempotencyKey, outcome: step instanceof MeterEventError ? step.kind : step });
    if (step instanceof MeterEventError) return Promise.reject(step);
    if (!this.counted.has(event.identifier)) this.counted.set(event.identifier, event);
    if (step === "accept-then-fail") return Promise.reject(new MeterEventError("timeout", null, "timed out after Stripe counted it"));
    return Promise.resolve();
  }

  total(): number {
    return [...this.counted.values()].reduce((sum, event) => sum + event.value, 0);
  }
}

const june = (day: number): string => new Date(Date.UTC(2025, 5, day, 12)).toISOString();
const now = Date.UTC(2025, 5, 25);

describe("usage reporter over the SQLite store", () => {
  let dir: string;
  let store: SqliteBillingStore;
  let log: InMemoryEventStore;
  let stripe: FakeStripe;
  let position: number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-billing-unit-"));
    store = SqliteBillingStore.open({ file: join(dir, "billing.db"), synchronous: "normal", name: "billing-projector", rulesFor: () => defaultBillingRules });
    log = new InMemoryEventStore();
    stripe = new FakeStripe();
    position = 1;
  });

  afterEach(async () => {
    store.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const apply = async (events: readonly TollgateEvent[]): Promise<void> => {
    const batch = recorded(events, position);
    position += events.length;
    await store.applyBatch(batch, batch.at(-1)!.position);
  };
  const reporter = (at = now): UsageReporter =>
    new UsageReporter({ store, eventStore: log, sender: stripe, backoff: { initialMs: 1, maxMs: 2 }, pollIntervalMs: 10, now: () => at, random: () => 0 });
  const recordedReports = async (subscriptionId = "sub-1") => (await log.readStream(billingStream(subscriptionId))).map((event) => UsageReported.parse(event).data);
  const setup: TollgateEvent[] = [planCreated("metered", "api_requests"), consumerRegistered("consumer-1", "cus_1"), subscriptionStarted("sub-1", "consumer-1", "metered")];

  it("reports billable units once through 429s, 5xx and a lost answer, and records each report as UsageReported", async () => {
    await apply([...setup, ...Array.from({ length: 5 }, (_, i) => completed({ startedAt: june(i + 1) })), rejected({ startedAt: june(2) }), completed({ startedAt: june(3) }, 503)]);
    stripe.script.push(new MeterEventError("rate-limited", 429, "slow down"), new MeterEventError("server-error", 500, "boom"), "accept-then-fail");
    await reporter().drain();
    expect(stripe.total()).toBe(5);
    // Every attempt carried the same identifier and key; the lost answer was followed by a re-send Stripe counted once.
    expect(stripe.calls.map((call) => call.outcome)).toEqual(["rate-limited", "server-error", "accept-then-fail", "ok"]);
    expect(new Set(stripe.calls.map((call) => call.identifier)).size).toBe(1);
    expect(new Set(stripe.calls.map((call) => call.idempotencyKey)).size).toBe(1);
    const [report] = store.reports();
    expect(report).toMatchObject({ status: "reported", units: 5, fromPosition: 0n, toPosition: 8n, attempts: 3, stripeCustomerId: "cus_1" });
    expect(await recordedReports()).toEqual([
      expect.objectContaining({ reportId: report!.reportId, units: 5, fromPosition: "0", toPosition: "8", periodStart: "2025-06-01T00:00:00.000Z", timestampClamped: false }),
    ]);
    expect(store.stats()).toEqual({ billableUnits: 5, reportedUnits: 5, inFlightUnits: 0, rejectedUnits: 0, unplannedUnits: 0, pendingReports: 0 });
  });

  it("bills new usage in the next contiguous range, and nothing again after a replay of the log from position 0", async () => {
    const first = [...setup, completed({ startedAt: june(1) }), completed({ startedAt: june(2) })];
    await apply(first);
    await reporter().drain();
    const second = [completed({ startedAt: june(3) }), completed({ startedAt: june(4) }), completed({ startedAt: june(5) })];
    await apply(second);
    await reporter().drain();
    expect(store.reports().map((report) => [report.fromPosition, report.toPosition, report.units])).toEqual([
      [0n, 5n, 2],
      [5n, 8n, 3],
    ]);

    // Replay: the projection is dropped (the ledger is kept) and rebuilt from position 0, in other batch sizes.
    store.resetProjection();
    position = 1;
    for (const event of [...first, ...second]) {
      await apply([event]);
      await reporter().drain();
      // Behind the ledger, nothing shows as pending.
      expect(store.stats()).toMatchObject({ reportedUnits: 5, unplannedUnits: 0, inFlightUnits: 0 });
    }
    expect(stripe.total()).toBe(5);
    expect(stripe.calls).toHaveLength(2);
    expect(store.reports()).toHaveLength(2);
    await apply([completed({ startedAt: june(6) })]);
    await reporter().drain();
    expect(store.reports().at(-1)).toMatchObject({ fromPosition: 8n, toPosition: 9n, units: 1 });
    expect(stripe.total()).toBe(6);
    expect((await recordedReports()).map((report) => report.units)).toEqual([2, 3, 1]);
  });

  it("keeps usage pending while the consumer has no Stripe customer, and reports it once one is linked", async () => {
    await apply([planCreated("metered", "api_requests"), consumerRegistered("consumer-1", null), subscriptionStarted("sub-1", "consumer-1", "metered"), completed({}), completed({})]);
    await reporter().drain();
    expect(stripe.calls).toHaveLength(0);
    expect(store.stats()).toMatchObject({ billableUnits: 2, unplannedUnits: 2 });
    await apply([consumerLabelled("consumer-1", "cus_late")]);
    await reporter().drain();
    expect(stripe.counted.size).toBe(1);
    expect([...stripe.counted.values()][0]).toMatchObject({ stripeCustomerId: "cus_late", value: 2 });
  });

  it("marks a report Stripe refuses for good as rejected, with its reason, and goes on with the others", async () => {
    await apply([...setup, consumerRegistered("consumer-2", "cus_2"), subscriptionStarted("sub-2", "consumer-2", "metered"), completed({}), completed({ subscriptionId: "sub-2" })]);
    stripe.script.push(new MeterEventError("rejected", 400, "No such customer: cus_1"));
    await reporter().drain();
    expect(store.reports().map((report) => [report.subscriptionId, report.status, report.lastError])).toEqual([
      ["sub-1", "rejected", "No such customer: cus_1"],
      ["sub-2", "reported", null],
    ]);
    expect(store.stats()).toMatchObject({ billableUnits: 2, reportedUnits: 1, rejectedUnits: 1, unplannedUnits: 0 });
  });

  it("moves a report that waited past Stripe's 35 days forward, under a new idempotency key and the same identifier", async () => {
    await apply([...setup, completed({ startedAt: june(1) })]);
    // Planned while Stripe was failing; then 40 days pass before it gets through.
    stripe.script.push(new MeterEventError("server-error", 500, "down"));
    const planned = store.planReports(now);
    expect(planned).toHaveLength(1);
    const later = now + 40 * 86_400_000;
    await reporter(later).drain();
    const [report] = store.reports();
    expect(report).toMatchObject({ status: "reported", timestampClamped: true, reportId: planned[0]!.reportId });
    expect(report!.timestampSeconds * 1_000).toBeGreaterThan(later - 35 * 86_400_000);
    expect(stripe.calls.map((call) => call.identifier)).toEqual([planned[0]!.reportId, planned[0]!.reportId]);
    expect(stripe.calls[1]!.idempotencyKey).toBe(`${planned[0]!.reportId}-${report!.timestampSeconds}`);
    expect((await recordedReports())[0]).toMatchObject({ timestampClamped: true });
  });
});
