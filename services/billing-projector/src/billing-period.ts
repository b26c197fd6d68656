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
