import { describe, expect, it } from "vitest";
import { BillingRules, BillingRulesOverride, billableUnits, defaultBillingRules, isBillable, layerBillingRules } from "./billing-rules.js";
import { parseEvent } from "./parse-event.js";
import type { RequestCompleted, RequestEvent, RequestRejected } from "./request-events.js";

const completedData: RequestCompleted["data"] = {
  requestId: "r-1",
  gatewayId: "gw-1",
  startedAt: "2026-11-26T10:00:00.000Z",
  durationMs: 1.5,
  routeId: "chat",
  method: "GET",
  path: "/chat",
  routeTemplate: "/chat",
  status: 200,
  clientIp: "127.0.0.1",
  bytesIn: 0,
  bytesOut: 12,
  controlPlaneVersion: "7",
  consumerId: "acme",
  credentialId: "acme-key",
  planId: "basic",
  subscriptionId: "acme-basic",
  upstream: "http://127.0.0.1:9000",
  attempts: 1,
  upstreamLatencyMs: 1.1,
  cacheStatus: "none",
};

function session(durationMs: number, messagesFromClient: number, messagesFromUpstream: number): RequestEvent {
  return parseEvent("RequestCompleted", 1, {
    ...completedData,
    status: 101,
    durationMs,
    bytesIn: messagesFromClient * 5,
    bytesOut: messagesFromUpstream * 5,
    websocket: { messagesFromClient, messagesFromUpstream, bytesFromClient: messagesFromClient * 5, bytesFromUpstream: messagesFromUpstream * 5, closeCode: 1000, closedBy: "client" },
  }) as RequestEvent;
}

describe("billableUnits", () => {
  it("bills one unit for a billable HTTP request and none for one that is not", () => {
    const ok: RequestEvent = { type: "RequestCompleted", version: 1, data: completedData };
    const serverError: RequestEvent = { type: "RequestCompleted", version: 1, data: { ...completedData, status: 502 } };
    const { upstream: _u, attempts: _a, upstreamLatencyMs: _l, cacheStatus: _c, ...base } = completedData;
    const rejected: RequestRejected = { type: "RequestRejected", version: 1, data: { ...base, status: 401, stage: "auth", reason: "no credentials", limit: null } };
    expect(billableUnits(ok, defaultBillingRules)).toBe(1);
    expect(billableUnits(serverError, defaultBillingRules)).toBe(0);
    expect(billableUnits(rejected, defaultBillingRules)).toBe(0);
  });

  it("bills a WebSocket session per connection by default", () => {
    expect(defaultBillingRules.websocket).toBe("per-connection");
    expect(billableUnits(session(600_000, 40, 2), defaultBillingRules)).toBe(1);
  });

  it("bills a session per message, both directions, when the plan says so", () => {
    const rules = BillingRules.parse({ websocket: "per-message" });
    expect(billableUnits(session(1_000, 1_000, 1_000), rules)).toBe(2_000);
    expect(billableUnits(session(1_000, 0, 0), rules)).toBe(0);
  });

  it("bills a session per started minute, at least one, when the plan says so", () => {
    const rules = BillingRules.parse({ websocket: "per-minute" });
    expect(billableUnits(session(250, 3, 3), rules)).toBe(1);
    expect(billableUnits(session(60_000, 3, 3), rules)).toBe(1);
    expect(billableUnits(session(60_001, 3, 3), rules)).toBe(2);
    expect(billableUnits(session(3_600_000, 3, 3), rules)).toBe(60);
  });

  it("counts a session as billable by its 101 status, like any completed request", () => {
    expect(isBillable(session(10, 1, 1), defaultBillingRules)).toBe(true);
  });

  it("refuses an unknown WebSocket billing unit", () => {
    expect(() => BillingRules.parse({ websocket: "per-byte" })).toThrow(/websocket/);
  });
});

describe("protocol fields of the request events", () => {
  it("keeps events without graphql or websocket valid (written before the fields existed)", () => {
    expect(parseEvent("RequestCompleted", 1, completedData).data).toEqual(completedData);
  });

  it("parses the GraphQL operation and refuses an unknown operation type", () => {
    const withOperation = { ...completedData, graphql: { operationName: "GetOrder", operationType: "query" } };
    expect(parseEvent("RequestCompleted", 1, withOperation).data).toEqual(withOperation);
    expect(parseEvent("RequestCompleted", 1, { ...completedData, graphql: { operationName: null, operationType: "mutation" } }).type).toBe("RequestCompleted");
    expect(() => parseEvent("RequestCompleted", 1, { ...completedData, graphql: { operationName: "X", operationType: "ping" } })).toThrow(/data.graphql.operationType/);
  });

  it("refuses a WebSocket session with a close code outside 1000-4999", () => {
    const base = session(10, 1, 1);
    expect(() => parseEvent("RequestCompleted", 1, { ...base.data, websocket: { ...(base.data as RequestCompleted["data"]).websocket, closeCode: 999 } })).toThrow(/closeCode/);
  });
});

describe("layerBillingRules", () => {
  it("lays each override over the rules below, and a field an override leaves out stays as it was", () => {
    const configured = layerBillingRules(defaultBillingRules, { fallbacks: true, cacheHits: false });
    // The per-plan layer says nothing about cacheHits: the configured false must survive.
    const override = BillingRulesOverride.parse({ upstreamServerErrors: true });
    expect(override).toEqual({ upstreamServerErrors: true });
    expect(layerBillingRules(configured, override, null, undefined)).toEqual({ ...defaultBillingRules, fallbacks: true, cacheHits: false, upstreamServerErrors: true });
    expect(layerBillingRules(configured, override, { upstreamServerErrors: false, websocket: "per-minute" })).toMatchObject({ upstreamServerErrors: false, websocket: "per-minute", cacheHits: false });
  });

  it("refuses unknown rule names, so a typo in a plan is an error, not a silent default", () => {
    expect(BillingRulesOverride.safeParse({ cacheHit: false }).success).toBe(false);
  });
});
