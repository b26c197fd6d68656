import { z } from "zod";
import { EntityId } from "./control-events.js";
import { StripeLinkEvent } from "./stripe-link-events.js";

/**
 * Billing events: the billing records. The billing projector appends one UsageReported
 * for every meter event Stripe accepted, to the subscription's billing stream
 * (`billing-<subscriptionId>`), so the log itself says what was billed and which log
 * positions each bill covers.
 *
 * The event's id is derived from `reportId`, and the store skips ids it already holds,
 * so recording the same report twice (a retry after a crash) leaves one event.
 */

export const billingStreamCategory = "billing";

/** The stream of a subscription's billing records. */
export function billingStream(subscriptionId: string): string {
  return `${billingStreamCategory}-${subscriptionId}`;
}

const isoTime = z.iso.datetime({ offset: true });

/** A log position, as a decimal string (positions are 64-bit). */
const PositionText = z.string().regex(/^\d{1,20}$/, "a log position, decimal");

export const UsageReported = z.object({
  type: z.literal("UsageReported"),
  version: z.literal(1),
  data: z.object({
    reportId: z.string().min(1).max(100).describe("The Stripe meter event identifier: derived from the subscription, meter, period and position range, so a retry or replay sends the same one"),
    subscriptionId: EntityId,
    consumerId: EntityId.nullable(),
    planId: EntityId.nullable().describe("The plan of the last request the report covers"),
    stripeCustomerId: z.string().min(1).max(255),
    meterEventName: z.string().min(1).max(100).describe("The Stripe billing meter's event_name"),
    periodStart: isoTime.describe("The service period the usage belongs to (by each request's startedAt), start inclusive"),
    periodEnd: isoTime.describe("End of that period, exclusive"),
    fromPosition: PositionText.describe("Exclusive: the report covers billable requests of this subscription, meter and period logged after this position"),
    toPosition: PositionText.describe("Inclusive: ... up to and including this position"),
    units: z.number().int().min(1).describe("Billable requests in that range: the meter event's value"),
    meterTimestamp: isoTime.describe("The meter event's timestamp as sent to Stripe (whole seconds)"),
    timestampClamped: z
      .boolean()
      .describe("True when the usage was older than Stripe accepts (35 days) and the timestamp was moved forward; Stripe then counts it in the period containing the new timestamp"),
    reportedAt: isoTime.describe("When Stripe accepted the meter event"),
  }),
});

/**
 * A late usage report: billable requests of a period that was already closed
 * (BillingPeriodClosed) when they reached the log. They are never put back into the
 * closed period: they are reported in the first open period (`periodStart`/`periodEnd`,
 * where Stripe counts them), as an explicit adjustment of the period they happened in.
 */
export const UsageAdjustmentReported = z.object({
  type: z.literal("UsageAdjustmentReported"),
  version: z.literal(1),
  data: UsageReported.shape.data.extend({
    adjustsPeriodStart: isoTime.describe("The closed period the late requests happened in (by startedAt), start inclusive"),
    adjustsPeriodEnd: isoTime.describe("End of that period, exclusive"),
  }),
});

/**
 * A subscription's service period closed: its grace window for late events has passed.
 * Appended by the billing projector to `billing-<subscriptionId>`; the log position of this
 * event is what decides, on every replay alike, whether a request is late: a request of
 * this period (or an earlier one) logged after it becomes an adjustment of the next open
 * period. The event id is derived from (subscription, periodEnd), so a second close of the
 * same period is skipped by the store.
 */
export const BillingPeriodClosed = z.object({
  type: z.literal("BillingPeriodClosed"),
  version: z.literal(1),
  data: z.object({
    subscriptionId: EntityId,
    periodStart: isoTime.describe("The period closed, start inclusive"),
    periodEnd: isoTime.describe("End of that period, exclusive: every period ending at or before it is closed"),
    graceMs: z.number().int().nonnegative().describe("The grace window after periodEnd that had passed when it closed"),
    closedAt: isoTime,
  }),
});

export const BillingEvent = z.discriminatedUnion("type", [UsageReported, UsageAdjustmentReported, BillingPeriodClosed, ...StripeLinkEvent.options]);

export type UsageReported = z.infer<typeof UsageReported>;
export type UsageAdjustmentReported = z.infer<typeof UsageAdjustmentReported>;
export type BillingPeriodClosed = z.infer<typeof BillingPeriodClosed>;
export type BillingEvent = z.infer<typeof BillingEvent>;
export type BillingEventType = BillingEvent["type"];

export const billingEventTypes: readonly BillingEventType[] = BillingEvent.options.map((option) => option.shape.type.value);
