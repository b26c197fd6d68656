import { z } from "zod";
import { EntityId } from "./control-events.js";

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

export const BillingEvent = z.discriminatedUnion("type", [UsageReported]);

export type UsageReported = z.infer<typeof UsageReported>;
export type BillingEvent = z.infer<typeof BillingEvent>;
export type BillingEventType = BillingEvent["type"];

export const billingEventTypes: readonly BillingEventType[] = BillingEvent.options.map((option) => option.shape.type.value);
