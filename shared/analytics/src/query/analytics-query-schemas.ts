import { z } from "zod";

/**
 * The query API's inputs, declared once: the control plane validates requests with
 * these schemas (a failure is 400), and the query module accepts nothing else. Ids are
 * held to the same characters as the log's entity ids, so a quote, a space or a SQL
 * fragment never gets past this point; `sqlLiteral` checks again when the SQL is built.
 */
export const analyticsIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const Id = z.string().regex(analyticsIdPattern, "use 1-128 letters, digits, '.', '_', ':', '@' or '-'");

export const intervals = { "1m": 60, "5m": 300, "15m": 900, "1h": 3_600, "1d": 86_400 } as const;
export type IntervalName = keyof typeof intervals;
export const groupByFields = ["none", "route", "consumer", "plan", "status"] as const;
export type GroupBy = (typeof groupByFields)[number];
export const statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;
export type StatusClass = (typeof statusClasses)[number];

/** The longest range a query may cover, and the most points a series may have. */
export const maxRangeMs = 31 * 86_400_000;
export const maxPoints = 1_500;

const Instant = z.iso.datetime({ offset: true }).describe("ISO 8601 instant, e.g. 2026-11-26T10:00:00Z");

export const AnalyticsFilter = z.strictObject({
  from: Instant.optional().describe("Start of the range (inclusive, truncated to the minute); default: `to` minus 1 hour"),
  to: Instant.optional().describe("End of the range (exclusive, rounded up to the minute); default: now"),
  routeId: Id.optional().describe("Only this route"),
  consumerId: Id.optional().describe("Only this consumer (a consumer's own key always means only itself)"),
  planId: Id.optional().describe("Only this plan"),
  status: z.enum(statusClasses).optional().describe("Only this status class"),
});
export type AnalyticsFilter = z.infer<typeof AnalyticsFilter>;

export const TimeSeriesQuery = AnalyticsFilter.extend({
  interval: z.enum(Object.keys(intervals) as [IntervalName, ...IntervalName[]]).default("1m").describe("Width of one point"),
  groupBy: z.enum(groupByFields).default("none").describe("One series per route, consumer, plan or status class"),
});
export type TimeSeriesQuery = z.infer<typeof TimeSeriesQuery>;

/** `operation`: GraphQL operation names (GraphQL-aware routes), read from the raw rows, so only within their retention. */
export const topDimensions = ["consumer", "route", "plan", "operation"] as const;
export const topMetrics = ["requests", "errors", "p50", "p95", "p99"] as const;
export const TopQuery = AnalyticsFilter.extend({
  by: z.enum(topDimensions).default("consumer"),
  metric: z.enum(topMetrics).default("requests").describe("Order by this, largest first"),
  limit: z.coerce.number().int().min(1).max(100).default(10),
});
export type TopQuery = z.infer<typeof TopQuery>;

export const RequestListQuery = AnalyticsFilter.extend({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});
export type RequestListQuery = z.infer<typeof RequestListQuery>;
