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
 * The quota period that contains instant `at`: calendar days and months in UTC, or,
 * with a billing anchor, periods aligned to the anchor's time of day (day) or day of the
 * month and time of day (month; the 29th to 31st fall on the last day of shorter months).
 *
 * A copy of the gateway's quota-window.ts (services never import one another), pinned
 * by the same table of cases in both test files: the gateway counts a request in the
 * period this names, and the projector reconciles that same period's counter.
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
