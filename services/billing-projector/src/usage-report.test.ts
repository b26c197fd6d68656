import { describe, expect, it } from "vitest";
import type { UsageAggregate } from "./usage-aggregation.js";
import { meterTimestamp, planReport, reportEventId, reportIdentifier, type ReportRange } from "./usage-report.js";

const dayMs = 86_400_000;
const range: ReportRange = { subscriptionId: "sub-1", meterEventName: "api_requests", periodStart: Date.UTC(2025, 5, 1), originPeriodStart: Date.UTC(2025, 5, 1), fromPosition: 0n, toPosition: 120n };
const usage: UsageAggregate = {
  subscriptionId: "sub-1",
  meterEventName: "api_requests",
  periodStart: Date.UTC(2025, 5, 1),
  periodEnd: Date.UTC(2025, 6, 1),
  originPeriodStart: Date.UTC(2025, 5, 1),
  originPeriodEnd: Date.UTC(2025, 6, 1),
  planId: "metered",
  units: 50,
  throughPosition: 120n,
  lastEventAt: Date.parse("2025-06-20T08:00:00.500Z"),
  pricing: null,
};
const now = Date.parse("2025-06-25T00:00:00.000Z");

describe("report identifiers", () => {
  it("are a pure function of subscription, meter, period and position range", () => {
    const id = reportIdentifier(range);
    expect(id).toMatch(/^tgu_[0-9a-f]{48}$/);
    expect(id.length).toBeLessThanOrEqual(100);
    expect(reportIdentifier({ ...range })).toBe(id);
    const variants = [
      { ...range, subscriptionId: "sub-2" },
      { ...range, meterEventName: "other" },
      { ...range, periodStart: Date.UTC(2025, 6, 1), originPeriodStart: Date.UTC(2025, 6, 1) },
      { ...range, fromPosition: 1n },
      { ...range, toPosition: 121n },
    ].map(reportIdentifier);
    expect(new Set([id, ...variants]).size).toBe(6);
    // An adjustment (late usage of June billed in July) has its own prefix and hash, distinct from July's regular report of the same range.
    const adjustment = reportIdentifier({ ...range, periodStart: Date.UTC(2025, 6, 1) });
    expect(adjustment).toMatch(/^tga_[0-9a-f]{48}$/);
    expect(adjustment).not.toBe(variants[2]);
    // Pinned: an identifier already sent to Stripe must never change meaning.
    expect(reportIdentifier({ subscriptionId: "s", meterEventName: "m", periodStart: 0, originPeriodStart: 0, fromPosition: 0n, toPosition: 1n })).toMatchInlineSnapshot(`"tgu_7d08d67ec92abf009cada0eb66029c0d02385ef061fdb083"`);
  });

  it("give UsageReported a deterministic UUID event id", () => {
    const id = reportEventId("tgu_abc");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(reportEventId("tgu_abc")).toBe(id);
    expect(reportEventId("tgu_abd")).not.toBe(id);
  });
});

describe("planReport", () => {
  it("bills the units logged after the last report, up to the last billable position, with the usage's own time", () => {
    expect(planReport(usage, { reportedThrough: 0n, reportedUnits: 0 }, now)).toEqual({
      ...range,
      reportId: reportIdentifier(range),
      periodEnd: usage.periodEnd,
      originPeriodEnd: usage.originPeriodEnd,
      units: 50,
      timestampSeconds: Math.floor(usage.lastEventAt / 1_000),
      timestampClamped: false,
    });
    const next = planReport({ ...usage, units: 57, throughPosition: 200n }, { reportedThrough: 120n, reportedUnits: 50 }, now)!;
    expect(next).toMatchObject({ fromPosition: 120n, toPosition: 200n, units: 7, reportId: reportIdentifier({ ...range, fromPosition: 120n, toPosition: 200n }) });
  });

  it("plans nothing when nothing is new, or while a replayed projection has not caught up with the ledger", () => {
    expect(planReport(usage, { reportedThrough: 120n, reportedUnits: 50 }, now)).toBeNull();
    // Replay from position 0: the projection is at 80 (30 units) and the ledger already at 120.
    expect(planReport({ ...usage, units: 30, throughPosition: 80n }, { reportedThrough: 120n, reportedUnits: 50 }, now)).toBeNull();
  });
});

describe("meterTimestamp: Stripe accepts the past 35 days and 5 minutes ahead", () => {
  it("keeps the usage's time when Stripe accepts it, never later than now", () => {
    expect(meterTimestamp(now - dayMs, now)).toEqual({ seconds: (now - dayMs) / 1_000, clamped: false });
    expect(meterTimestamp(now + 60_000, now)).toEqual({ seconds: now / 1_000, clamped: false });
    expect(meterTimestamp(now - 34 * dayMs, now)).toEqual({ seconds: (now - 34 * dayMs) / 1_000, clamped: false });
  });

  it("moves older usage forward to the oldest instant Stripe accepts, with an hour's margin, and flags it", () => {
    const oldest = (now - 35 * dayMs + 3_600_000) / 1_000;
    expect(meterTimestamp(now - 35 * dayMs, now)).toEqual({ seconds: oldest, clamped: true });
    expect(meterTimestamp(now - 90 * dayMs, now)).toEqual({ seconds: oldest, clamped: true });
    expect(planReport({ ...usage, lastEventAt: now - 40 * dayMs }, { reportedThrough: 0n, reportedUnits: 0 }, now)).toMatchObject({ timestampSeconds: oldest, timestampClamped: true });
  });
});
