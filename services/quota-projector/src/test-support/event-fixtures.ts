import type { PlanCreated, PlanUpdated, Quota, RequestEvent, SubscriptionPlanChanged, SubscriptionStarted } from "@tollgate/events";

const actor = { kind: "admin" as const, id: "test" };

export function planCreated(planId: string, quota: Quota | null): PlanCreated {
  return {
    type: "PlanCreated",
    version: 1,
    data: {
      planId,
      name: planId,
      description: "",
      public: true,
      rateLimits: [],
      quota,
      routes: ["*"],
      scopes: [],
      price: { stripePriceId: null, stripeMeterEventName: null },
      actor,
    },
  };
}

export function planQuotaChanged(planId: string, quota: Quota | null): PlanUpdated {
  return { type: "PlanUpdated", version: 1, data: { planId, changes: { quota }, actor } };
}

export function subscriptionStarted(subscriptionId: string, planId: string, billingAnchor?: string | null): SubscriptionStarted {
  return {
    type: "SubscriptionStarted",
    version: 1,
    data: { subscriptionId, consumerId: "consumer-1", planId, ...(billingAnchor === undefined ? {} : { billingAnchor }), actor },
  };
}

export function subscriptionPlanChanged(subscriptionId: string, fromPlanId: string, toPlanId: string): SubscriptionPlanChanged {
  return { type: "SubscriptionPlanChanged", version: 1, data: { subscriptionId, consumerId: "consumer-1", fromPlanId, toPlanId, actor } };
}

export interface RequestShape {
  subscriptionId?: string | null;
  planId?: string | null;
  startedAt?: string;
  n?: number;
}

function base(shape: RequestShape, status: number) {
  const n = shape.n ?? 0;
  return {
    requestId: `req-${n}-${Math.random().toString(36).slice(2)}`,
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
    planId: shape.planId === undefined ? "gold" : shape.planId,
    subscriptionId: shape.subscriptionId === undefined ? "sub-1" : shape.subscriptionId,
  };
}

export function completed(shape: RequestShape = {}, status = 200, cacheStatus: "hit" | "miss" | "bypass" | "none" = "none"): RequestEvent {
  return {
    type: "RequestCompleted",
    version: 1,
    data: { ...base(shape, status), upstream: "http://127.0.0.1:9", attempts: 1, upstreamLatencyMs: 2, cacheStatus },
  };
}

export function rejected(shape: RequestShape = {}, stage: "auth" | "rate-limit" | "quota" = "quota"): RequestEvent {
  return { type: "RequestRejected", version: 1, data: { ...base(shape, 429), stage, reason: "test", limit: null } };
}

export function failed(
  shape: RequestShape = {},
  error: "upstream-error" | "timeout" | "circuit-open" | "client-abort" = "upstream-error",
  attempts = 1,
  fallbackServed = false,
): RequestEvent {
  return {
    type: "RequestFailed",
    version: 1,
    data: { ...base(shape, 502), upstream: attempts > 0 ? "http://127.0.0.1:9" : null, attempts, error, detail: "test", fallbackServed },
  };
}

/** A proxied WebSocket session as the gateway records it at close: one RequestCompleted, status 101. */
export function webSocketSession(shape: RequestShape = {}, messages: { fromClient: number; fromUpstream: number }, durationMs = 30_000): RequestEvent {
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
      websocket: { messagesFromClient: messages.fromClient, messagesFromUpstream: messages.fromUpstream, bytesFromClient: 10 * messages.fromClient, bytesFromUpstream: 10 * messages.fromUpstream, closeCode: 1000, closedBy: "client" },
    },
  };
}
