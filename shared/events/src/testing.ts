import type { RequestCompleted, RequestEvent, RequestFailed, RequestRejected } from "./request-events.js";

/**
 * A valid RequestCompleted, for tests anywhere in the workspace that need one and care
 * about a few of its fields (`@tollgate/events/testing`). Every field can be overridden.
 */
export function sampleRequestCompleted(overrides: Partial<RequestCompleted["data"]> = {}): RequestCompleted {
  return {
    type: "RequestCompleted",
    version: 1,
    data: {
      requestId: "r-1",
      gatewayId: "gw-1",
      startedAt: "2026-11-26T10:00:00.000Z",
      durationMs: 1.5,
      routeId: "demo",
      method: "GET",
      path: "/demo/hello",
      routeTemplate: "/demo",
      status: 200,
      clientIp: "127.0.0.1",
      bytesIn: 0,
      bytesOut: 12,
      controlPlaneVersion: null,
      consumerId: null,
      credentialId: null,
      planId: null,
      subscriptionId: null,
      upstream: "http://127.0.0.1:9000",
      attempts: 1,
      upstreamLatencyMs: 1.1,
      cacheStatus: "none",
      ...overrides,
    },
  };
}

/** What a test says about a request event; everything else takes a fixed, valid value. */
export interface RequestShape {
  subscriptionId?: string | null;
  planId?: string | null;
  startedAt?: string;
  /** Shows in the request id, to tell requests apart when reading a failure. */
  n?: number;
}

export type CacheStatus = "hit" | "miss" | "bypass" | "none";

/**
 * Request events of one consumer ("consumer-1", credential "cred-1") on one route
 * ("orders"), for projector tests: a plan and a subscription ("sub-1") unless the shape
 * says otherwise, 2025-06-15 at noon UTC unless it says when. Every event gets its own
 * request id.
 */
export function requestEventFixtures(defaults: { planId: string }) {
  let counter = 0;
  const base = (shape: RequestShape, status: number) => {
    counter += 1;
    return {
      requestId: shape.n === undefined ? `req-${counter}` : `req-${shape.n}-${counter}`,
      gatewayId: "gw-1",
      startedAt: shape.startedAt ?? "2025-06-15T12:00:00.000Z",
      durationMs: 3,
      routeId: "orders",
      method: "GET",
      path: "/orders",
      routeTemplate: "/orders",
      status,
      clientIp: "203.0.113.7",
      bytesIn: 0,
      bytesOut: 10,
      controlPlaneVersion: null,
      consumerId: "consumer-1",
      credentialId: "cred-1",
      planId: shape.planId === undefined ? defaults.planId : shape.planId,
      subscriptionId: shape.subscriptionId === undefined ? "sub-1" : shape.subscriptionId,
    };
  };
  return {
    completed: (shape: RequestShape = {}, status = 200, cacheStatus: CacheStatus = "none"): RequestEvent => ({
      type: "RequestCompleted",
      version: 1,
      data: { ...base(shape, status), upstream: "http://127.0.0.1:9", attempts: 1, upstreamLatencyMs: 2, cacheStatus },
    }),
    rejected: (shape: RequestShape = {}, stage: RequestRejected["data"]["stage"] = "quota", limit: string | null = null): RequestEvent => ({
      type: "RequestRejected",
      version: 1,
      data: { ...base(shape, 429), stage, reason: "test", limit },
    }),
    failed: (shape: RequestShape = {}, error: RequestFailed["data"]["error"] = "upstream-error", attempts = 1, fallbackServed = false): RequestEvent => ({
      type: "RequestFailed",
      version: 1,
      data: { ...base(shape, 502), upstream: attempts > 0 ? "http://127.0.0.1:9" : null, attempts, error, detail: "test", fallbackServed },
    }),
    /** A proxied WebSocket session as the gateway records it at close: one RequestCompleted, status 101. */
    webSocketSession: (shape: RequestShape = {}, messages: { fromClient: number; fromUpstream: number }, durationMs = 30_000): RequestEvent => {
      return {
        type: "RequestCompleted",
        version: 1,
        data: {
          ...base(shape, 101),
          durationMs,
          upstream: "http://127.0.0.1:9",
          attempts: 1,
          upstreamLatencyMs: 2,
          cacheStatus: "none",
          websocket: {
            messagesFromClient: messages.fromClient,
            messagesFromUpstream: messages.fromUpstream,
            bytesFromClient: 10 * messages.fromClient,
            bytesFromUpstream: 10 * messages.fromUpstream,
            closeCode: 1000,
            closedBy: "client",
          },
        },
      };
    },
  };
}
