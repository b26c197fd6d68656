import { latencyBucket } from "@tollgate/analytics";
import type { RequestFailed, RequestRejected } from "@tollgate/events";
import { describe, expect, it } from "vitest";
import { projectRequestEvent } from "./analytics-projection.js";

const base = {
  requestId: "r-1",
  gatewayId: "gw-1",
  startedAt: "2026-11-26T10:03:17.250Z",
  durationMs: 12.5,
  routeId: "orders",
  method: "GET",
  path: "/orders/1",
  routeTemplate: "/orders",
  status: 200,
  clientIp: "127.0.0.1",
  bytesIn: 0,
  bytesOut: 42,
  controlPlaneVersion: "17",
  consumerId: "acme",
  credentialId: "key-1",
  planId: "gold",
  subscriptionId: "sub-1",
};

describe("projectRequestEvent", () => {
  it("maps a RequestCompleted to one row keyed by the event id", () => {
    const row = projectRequestEvent({
      id: "0190-a",
      type: "RequestCompleted",
      version: 1,
      position: 99n,
      data: { ...base, upstream: "http://u", attempts: 1, upstreamLatencyMs: 10, cacheStatus: "miss" },
    });
    expect(row).toEqual({
      event_id: "0190-a",
      position: "99",
      event_type: "RequestCompleted",
      request_id: "r-1",
      gateway_id: "gw-1",
      started_at_ms: Date.parse("2026-11-26T10:03:17.250Z"),
      minute: Date.parse("2026-11-26T10:03:00Z") / 1_000,
      route_id: "orders",
      method: "GET",
      path: "/orders/1",
      status: 200,
      status_class: 2,
      consumer_id: "acme",
      plan_id: "gold",
      subscription_id: "sub-1",
      duration_ms: 12.5,
      latency_bucket: latencyBucket(12.5),
      bytes_in: 0,
      bytes_out: 42,
      outcome: "cache:miss",
      graphql_operation: "",
      graphql_operation_type: "",
    });
  });

  it("records the GraphQL operation of a request, named or anonymous", () => {
    const completed = { ...base, upstream: "http://u", attempts: 1, upstreamLatencyMs: 10, cacheStatus: "none", graphql: { operationName: "GetOrder", operationType: "query" } };
    expect(projectRequestEvent({ id: "g1", type: "RequestCompleted", version: 1, position: 7n, data: completed })).toMatchObject({ graphql_operation: "GetOrder", graphql_operation_type: "query" });
    const rejected = { ...base, status: 400, stage: "validation", reason: "too deep", limit: null, graphql: { operationName: null, operationType: "mutation" } };
    expect(projectRequestEvent({ id: "g2", type: "RequestRejected", version: 1, position: 8n, data: rejected })).toMatchObject({ graphql_operation: "", graphql_operation_type: "mutation" });
  });

  it("keeps an unattributed rejection with empty identities", () => {
    const data: RequestRejected["data"] = { ...base, consumerId: null, credentialId: null, planId: null, subscriptionId: null, routeId: null, status: 401, stage: "auth", reason: "missing credential", limit: null };
    const row = projectRequestEvent({ id: "e2", type: "RequestRejected", version: 1, position: 3n, data });
    expect(row).toMatchObject({ consumer_id: "", plan_id: "", route_id: "", status_class: 4, outcome: "auth: missing credential" });
  });

  it("records the failure kind of an upstream error", () => {
    const data: RequestFailed["data"] = { ...base, status: 502, upstream: null, attempts: 1, error: "upstream-error", detail: "ECONNREFUSED", fallbackServed: false };
    expect(projectRequestEvent({ id: "e3", type: "RequestFailed", version: 1, position: 4n, data })).toMatchObject({ status_class: 5, outcome: "upstream-error: ECONNREFUSED" });
  });

  it("refuses an event that does not match its schema", () => {
    expect(() => projectRequestEvent({ id: "e4", type: "RequestCompleted", version: 1, position: 5n, data: { ...base, status: 42 } })).toThrow();
  });
});
