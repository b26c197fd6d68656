import type { Quota } from "./control-events.js";

export type QuotaPeriod = Quota["period"];

/** One period of a subscription's quota: [start, end) in epoch ms, UTC. */
export interface QuotaWindow {
  readonly period: QuotaPeriod;
  readonly start: number;
  readonly end: number;
}

const dayMs = 86_400_000;

/**
 * The quota period that contains instant `at`.
 *
 * Without an anchor, periods are calendar days and months in UTC. With a billing anchor
 * (SubscriptionStarted's billingAnchor, in epoch ms), periods are aligned to it: a daily
 * period starts at the anchor's time of day, a monthly one on the anchor's day of the
 * month at its time of day. An anchor on the 29th to 31st falls on the last day of
 * shorter months, as Stripe's billing_cycle_anchor does: anchored on Jan 31, the periods
 * start Jan 31, Feb 28 (29), Mar 31, Apr 30...
 *
 * This is the one definition of a quota period: the gateway counts a request in the
 * period this names, the quota projector counts the log in it and reconciles that
 * period's counter, and the control plane reports usage for it. It lives in the events
 * package because it is a contract about the log (which period a request event falls
 * in), not a piece of any one service.
 */
export function quotaWindow(at: number, period: QuotaPeriod, anchor: number | null = null): QuotaWindow {
  if (period === "day") {
    const offset = anchor === null ? 0 : ((anchor % dayMs) + dayMs) % dayMs;
    const start = Math.floor((at - offset) / dayMs) * dayMs + offset;
    return { period, start, end: start + dayMs };
  }
  const shape = anchor === null ? null : new Date(anchor);
  const boundary = (year: number, month: number): number => {
    if (shape === null) return Date.UTC(year, month, 1);
    const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    return Date.UTC(
      year,
      month,
      Math.min(shape.getUTCDate(), last),
      shape.getUTCHours(),
      shape.getUTCMinutes(),
      shape.getUTCSeconds(),
      shape.getUTCMilliseconds(),
    );
  };
  const date = new Date(at);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const here = boundary(year, month);
  return here <= at
    ? { period, start: here, end: boundary(year, month + 1) }
    : { period, start: boundary(year, month - 1), end: here };
}
