import { parseEvent, requestEventTypes, type RequestEvent } from "@tollgate/events";
import { latencyBucket, type RequestRow } from "@tollgate/analytics";

/** The request event types the projection reads. */
export const analyticsEventTypes: readonly string[] = requestEventTypes;

/** What the projection needs of a recorded event. */
export interface ProjectableEvent {
  id: string;
  type: string;
  version: number;
  data: unknown;
  position: bigint;
}

/**
 * The projection, pure: one request event → one raw row. The rollups are derived from
 * the rows by the store (a materialized view on ClickHouse, the same transaction on
 * SQLite), so this is all the logic there is. Null identities become '' (see RequestRow).
 */
export function projectRequestEvent(recorded: ProjectableEvent): RequestRow {
  const event = parseEvent(recorded.type, recorded.version, recorded.data) as RequestEvent;
  const data = event.data;
  const startedAtMs = Date.parse(data.startedAt);
  return {
    event_id: recorded.id,
    position: recorded.position.toString(),
    event_type: event.type,
    request_id: data.requestId,
    gateway_id: data.gatewayId,
    started_at_ms: startedAtMs,
    minute: Math.floor(startedAtMs / 60_000) * 60,
    route_id: data.routeId ?? "",
    method: data.method,
    path: data.path,
    status: data.status,
    status_class: Math.floor(data.status / 100),
    consumer_id: data.consumerId ?? "",
    plan_id: data.planId ?? "",
    subscription_id: data.subscriptionId ?? "",
    duration_ms: data.durationMs,
    latency_bucket: latencyBucket(data.durationMs),
    bytes_in: data.bytesIn,
    bytes_out: data.bytesOut,
    outcome: outcomeOf(event),
    graphql_operation: data.graphql?.operationName ?? "",
    graphql_operation_type: data.graphql?.operationType ?? "",
  };
}

function outcomeOf(event: RequestEvent): string {
  switch (event.type) {
    case "RequestCompleted":
      return `cache:${event.data.cacheStatus}`;
    case "RequestRejected":
      return `${event.data.stage}: ${event.data.reason}`.slice(0, 600);
    case "RequestFailed":
      return `${event.data.error}: ${event.data.detail}`.slice(0, 600);
  }
}
