import { createHash } from "node:crypto";
import { billingStream, type BillingPeriodClosed } from "@tollgate/events";
import type { EventStore } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import { billingPeriod, type BillingPeriod } from "./billing-period.js";
import type { SubscriptionBilling } from "./usage-aggregation.js";

/**
 * The period a subscription may close at `now`: the last one that ended at least
 * `graceMs` ago, when it is not closed yet; null otherwise. Closing it closes every
 * earlier one too (`closedThrough` is a watermark).
 */
export function periodToClose(subscription: SubscriptionBilling, now: number, graceMs: number): BillingPeriod | null {
  // The period that contains now − grace is still open; the one before it is past its grace window.
  const open = billingPeriod(now - graceMs, subscription.billingAnchor);
  if (subscription.closedThrough !== null && subscription.closedThrough >= open.start) return null;
  return billingPeriod(open.start - 1, subscription.billingAnchor);
}

/** The event id of a period's close: one per (subscription, period end), so closing twice appends once. */
export function periodClosedEventId(subscriptionId: string, periodEnd: number): string {
  const hex = createHash("sha256").update(`tollgate-period-closed-v1\n${subscriptionId}\n${periodEnd}`).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface PeriodCloserOptions {
  /** The subscriptions as the projection knows them (SqliteBillingStore.subscriptions). */
  subscriptions: () => readonly SubscriptionBilling[];
  eventStore: EventStore;
  graceMs: number;
  now: () => number;
  logger?: Logger;
}

/**
 * Closes service periods by appending BillingPeriodClosed to the log once a period's grace
 * window has passed. The close takes effect where the event lands in the log: requests
 * logged before it still count in their own period, requests of a closed period logged
 * after it become adjustments of the next open period (usage-aggregation.ts). Deciding by
 * log position rather than by the clock at projection time is what keeps a replay from
 * position 0 giving the same periods as the first run.
 *
 * The projection learns of a close only when it reads the event back, so a closer that
 * runs again before that appends the same event id, which the store skips.
 */
export async function closeDuePeriods(options: PeriodCloserOptions): Promise<BillingPeriodClosed[]> {
  const now = options.now();
  const closed: BillingPeriodClosed[] = [];
  for (const subscription of options.subscriptions()) {
    const period = periodToClose(subscription, now, options.graceMs);
    if (period === null) continue;
    const event: BillingPeriodClosed = {
      type: "BillingPeriodClosed",
      version: 1,
      data: {
        subscriptionId: subscription.subscriptionId,
        periodStart: new Date(period.start).toISOString(),
        periodEnd: new Date(period.end).toISOString(),
        graceMs: options.graceMs,
        closedAt: new Date(now).toISOString(),
      },
    };
    await options.eventStore.append(billingStream(subscription.subscriptionId), [{ id: periodClosedEventId(subscription.subscriptionId, period.end), ...event }]);
    options.logger?.debug({ subscriptionId: subscription.subscriptionId, periodEnd: event.data.periodEnd }, "billing period closed");
    closed.push(event);
  }
  return closed;
}
