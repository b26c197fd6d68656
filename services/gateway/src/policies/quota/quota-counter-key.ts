import type { QuotaWindow } from "./quota-window.js";

/**
 * The counter of one subscription's quota in one period:
 * `<prefix><subscriptionId>:<day|month>:<period start, ISO 8601 UTC>`,
 * for example `tollgate:quota:sub-42:month:2025-06-01T00:00:00.000Z`.
 *
 * This is a contract with the quota projector, which reconciles the same key in Redis
 * (and keeps `<key>:refunded` next to it): change both together. Subscription ids are
 * EntityIds, which contain no `:`.
 */
export function quotaCounterKey(prefix: string, subscriptionId: string, window: QuotaWindow): string {
  return `${prefix}${subscriptionId}:${window.period}:${new Date(window.start).toISOString()}`;
}
