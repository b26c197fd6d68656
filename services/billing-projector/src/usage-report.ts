import { createHash } from "node:crypto";
import type { UsageAggregate } from "./usage-aggregation.js";

/**
 * Reports: what the reporter sends to Stripe, as pure functions.
 *
 * A report covers the billable requests of one subscription, meter and period whose log
 * positions lie in (fromPosition, toPosition]. The reports of one usage document tile
 * the log without gaps or overlaps: each starts where the previous one ended, and the
 * next one is planned only once the previous one was accepted. Its identifier is a hash
 * of exactly that (subscription, meter, period, range), so the same range always gets
 * the same Stripe identifier: a retry, a re-send after a crash, or the same range planned
 * again after the projection was replayed from position 0 all send one identifier, which
 * Stripe counts once.
 */

export interface ReportRange {
  readonly subscriptionId: string;
  readonly meterEventName: string;
  readonly periodStart: number;
  /** The period the requests happened in: periodStart for a regular report, an earlier, closed one for an adjustment. */
  readonly originPeriodStart: number;
  /** Exclusive. */
  readonly fromPosition: bigint;
  /** Inclusive. */
  readonly toPosition: bigint;
}

/**
 * Stripe's identifier for the meter event of a range: `tgu_` and 48 hex digits (Stripe
 * allows 100 characters). An adjustment (late usage of the closed period
 * `originPeriodStart`, billed in `periodStart`) is `tga_` and a hash that also covers the
 * origin period, so it can never collide with a regular report of either period.
 */
export function reportIdentifier(range: ReportRange): string {
  const common = [range.subscriptionId, range.meterEventName, String(range.periodStart)];
  const positions = [String(range.fromPosition), String(range.toPosition)];
  if (range.originPeriodStart === range.periodStart) {
    const text = ["tollgate-usage-v1", ...common, ...positions].join("\n");
    return `tgu_${createHash("sha256").update(text).digest("hex").slice(0, 48)}`;
  }
  const text = ["tollgate-usage-adjustment-v1", ...common, String(range.originPeriodStart), ...positions].join("\n");
  return `tga_${createHash("sha256").update(text).digest("hex").slice(0, 48)}`;
}

/**
 * A UUID derived from a report's identifier (SHA-256, RFC 9562 version 8 layout), used as
 * the UsageReported event's id: the event store skips an id it already holds, so
 * recording a report twice leaves one event.
 */
export function reportEventId(reportId: string): string {
  const hex = createHash("sha256").update(`tollgate-usage-reported-v1\n${reportId}`).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** What the ledger knows of one usage document's reports. */
export interface LedgerPosition {
  /** End of the last report (exclusive start of the next); 0 before the first. */
  readonly reportedThrough: bigint;
  /** Units of every report so far. */
  readonly reportedUnits: number;
}

export interface PlannedReport extends ReportRange {
  readonly reportId: string;
  readonly periodEnd: number;
  readonly originPeriodEnd: number;
  readonly units: number;
  /** The meter event's timestamp, whole seconds since the epoch. */
  readonly timestampSeconds: number;
  readonly timestampClamped: boolean;
}

/** Stripe's rule: a meter event's timestamp must be within the past 35 calendar days, and at most 5 minutes in the future. */
export interface TimestampRule {
  readonly maxAgeMs: number;
  /** Kept between the oldest timestamp sent and Stripe's limit, for clock skew and the time a request takes. */
  readonly marginMs: number;
}

export const stripeTimestampRule: TimestampRule = { maxAgeMs: 35 * 86_400_000, marginMs: 3_600_000 };

/**
 * The timestamp of a meter event for usage last seen at `eventAt`: that instant (inside
 * its period, so Stripe bills it in the same period), never later than now, and never
 * older than Stripe accepts. Usage older than that is moved forward to the oldest
 * instant Stripe accepts, and flagged: Stripe then bills it in the period containing
 * that instant, a late adjustment the reconciliation must show.
 */
export function meterTimestamp(eventAt: number, now: number, rule: TimestampRule = stripeTimestampRule): { seconds: number; clamped: boolean } {
  const oldest = now - rule.maxAgeMs + rule.marginMs;
  if (eventAt < oldest) return { seconds: Math.ceil(oldest / 1_000), clamped: true };
  return { seconds: Math.floor(Math.min(eventAt, now) / 1_000), clamped: false };
}

/**
 * The next report of a usage document: the billable units logged after the last report,
 * up to the document's last billable position. Null when there is nothing new.
 *
 * `usage.units` counts every billable request up to `usage.throughPosition`, and each
 * report's units counted those up to its `toPosition`, so their difference is exactly the
 * units in (reportedThrough, throughPosition]. While the projection is being replayed and
 * has not yet reached the ledger (throughPosition <= reportedThrough), nothing is planned.
 */
export function planReport(usage: UsageAggregate, ledger: LedgerPosition, now: number, rule: TimestampRule = stripeTimestampRule): PlannedReport | null {
  if (usage.throughPosition <= ledger.reportedThrough) return null;
  const units = usage.units - ledger.reportedUnits;
  if (units <= 0) return null;
  const range: ReportRange = {
    subscriptionId: usage.subscriptionId,
    meterEventName: usage.meterEventName,
    periodStart: usage.periodStart,
    originPeriodStart: usage.originPeriodStart,
    fromPosition: ledger.reportedThrough,
    toPosition: usage.throughPosition,
  };
  const timestamp = meterTimestamp(usage.lastEventAt, now, rule);
  return { ...range, reportId: reportIdentifier(range), periodEnd: usage.periodEnd, originPeriodEnd: usage.originPeriodEnd, units, timestampSeconds: timestamp.seconds, timestampClamped: timestamp.clamped };
}
