import type { Quota } from "@tollgate/events";

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
 * (an instant, such as when the subscription started billing), periods are aligned to
 * it: a daily period starts at the anchor's time of day, a monthly one on the anchor's
 * day of the month at its time of day. An anchor on the 29th to 31st falls on the last
 * day of shorter months, as Stripe's billing_cycle_anchor does: anchored on Jan 31, the
 * periods start Jan 31, Feb 28 (29), Mar 31, Apr 30...
 *
 * The quota projector has its own copy of this function (services never import one
 * another); both copies are pinned by the same cases in their tests, because the
 * gateway's counter key and the projector's reconciliation must name the same period.
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
