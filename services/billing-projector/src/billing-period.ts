import { quotaWindow } from "@tollgate/events";

/** One billing (service) period: [start, end) in epoch ms, UTC. */
export interface BillingPeriod {
  readonly start: number;
  readonly end: number;
}

/**
 * The service period that contains instant `at`: the UTC calendar month, or, when the
 * subscription has a billing anchor (SubscriptionStarted's billingAnchor, epoch ms), the
 * month-long period aligned to it, as Stripe's billing_cycle_anchor aligns invoices.
 * It is the events package's `quotaWindow` for a monthly period, the one definition the
 * gateway, the quota projector and the control plane use too, so a request's quota
 * period and its billing period are the same month.
 */
export function billingPeriod(at: number, billingAnchor: number | null): BillingPeriod {
  const { start, end } = quotaWindow(at, "month", billingAnchor);
  return { start, end };
}

/** A billing month as finance names it: `2026-11`. */
export const billingMonthPattern = /^(\d{4})-(0[1-9]|1[0-2])$/;

/**
 * The period a subscription is invoiced for in billing month `month` (`YYYY-MM`): the one
 * that starts within that UTC calendar month. For calendar periods it is the month itself;
 * for an anchored subscription, the month-long period that starts on its anchor day in it.
 */
export function periodOfMonth(month: string, billingAnchor: number | null): BillingPeriod {
  const match = billingMonthPattern.exec(month);
  if (match === null) throw new RangeError(`not a billing month (YYYY-MM): ${month}`);
  const monthStart = Date.UTC(Number(match[1]), Number(match[2]) - 1, 1);
  const containing = billingPeriod(monthStart, billingAnchor);
  return containing.start >= monthStart ? containing : billingPeriod(containing.end, billingAnchor);
}

/** The billing month (`YYYY-MM`) a period is invoiced in: the UTC month of its start. */
export function monthOfPeriod(period: BillingPeriod): string {
  return new Date(period.start).toISOString().slice(0, 7);
}
