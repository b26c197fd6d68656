import type { RequestCompleted } from "./request-events.js";

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
