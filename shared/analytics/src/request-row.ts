import { z } from "zod";

/**
 * The raw requests table's row: one per request event, keyed by event id. Declared once,
 * here, for both engines; every writer validates its rows against it before inserting.
 * Identities that are null in the event are '' here (ClickHouse keys cannot be
 * Nullable, and '' is never a valid id).
 */
export const RequestRow = z.strictObject({
  event_id: z.string().min(1).max(100).describe("The log's event id: the dedupe key"),
  position: z.string().regex(/^\d{1,20}$/).describe("The event's log position (UInt64, as text)"),
  event_type: z.enum(["RequestCompleted", "RequestRejected", "RequestFailed"]),
  request_id: z.string().max(200),
  gateway_id: z.string().max(200),
  started_at_ms: z.number().int().nonnegative().describe("When the gateway received the request, epoch ms"),
  minute: z.number().int().nonnegative().describe("started_at_ms truncated to the minute, epoch seconds"),
  route_id: z.string().max(200),
  method: z.string().max(32),
  path: z.string().max(4_096),
  status: z.number().int().min(100).max(599),
  status_class: z.number().int().min(1).max(5).describe("status / 100"),
  consumer_id: z.string().max(200),
  plan_id: z.string().max(200),
  subscription_id: z.string().max(200),
  duration_ms: z.number().nonnegative(),
  latency_bucket: z.number().int().describe("latencyBucket(duration_ms): see latency-histogram.ts"),
  bytes_in: z.number().int().nonnegative(),
  bytes_out: z.number().int().nonnegative(),
  outcome: z.string().max(600).describe("RequestRejected: stage; RequestFailed: error kind; RequestCompleted: cache status"),
  graphql_operation: z.string().max(200).describe("The GraphQL operation's name on GraphQL-aware routes; '' for an anonymous operation or another request"),
  graphql_operation_type: z.enum(["", "query", "mutation", "subscription"]).describe("The GraphQL operation's type; '' when the request carried none"),
});

export type RequestRow = z.infer<typeof RequestRow>;

export const requestRowColumns = Object.keys(RequestRow.shape) as (keyof RequestRow)[];

/**
 * The tables of one projection. A rebuild writes to the same tables with a suffix, then
 * renames them over the live ones.
 */
export interface AnalyticsTables {
  requests: string;
  rollup: string;
  rollupView: string;
  checkpoints: string;
}

export function analyticsTables(suffix = ""): AnalyticsTables {
  if (!/^[a-z0-9_]{0,20}$/.test(suffix)) throw new Error(`invalid table suffix ${JSON.stringify(suffix)}`);
  return {
    requests: `requests${suffix}`,
    rollup: `requests_per_minute${suffix}`,
    rollupView: `requests_per_minute_mv${suffix}`,
    checkpoints: `analytics_checkpoints${suffix}`,
  };
}
