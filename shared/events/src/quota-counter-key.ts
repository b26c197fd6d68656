import type { QuotaWindow } from "./quota-window.js";

/**
 * The shared counter of one subscription's quota in one period:
 * `<prefix><subscriptionId>:<day|month>:<period start, ISO 8601 UTC>`,
 * for example `tollgate:quota:sub-42:month:2025-06-01T00:00:00.000Z`.
 *
 * The gateway counts requests at this key in Redis and the quota projector reconciles
 * the same key (and keeps `<key>:refunded` next to it), so there is one definition, here.
 * Subscription ids are EntityIds, which contain no `:`.
 */
export function quotaCounterKey(prefix: string, subscriptionId: string, window: QuotaWindow): string {
  return `${prefix}${subscriptionId}:${window.period}:${new Date(window.start).toISOString()}`;
}
