import type { BillingRulesOverride, ConsumerRegistered, ConsumerUpdated, PlanCreated, PlanPricing, PlanUpdated, RequestEvent, SubscriptionPlanChanged, SubscriptionStarted, TollgateEvent } from "@tollgate/events";
import type { RecordedEvent } from "@tollgate/eventstore";

const actor = { kind: "admin" as const, id: "test" };

export function planCreated(planId: string, meterEventName: string | null, pricing?: PlanPricing): PlanCreated {
  return {
    type: "PlanCreated",
    version: 1,
    data: {
      planId,
      name: planId,
      description: "",
      public: true,
      rateLimits: [],
      quota: null,
      routes: ["*"],
      scopes: [],
      price: { stripePriceId: meterEventName === null ? null : `price_${planId}`, stripeMeterEventName: meterEventName },
      ...(pricing === undefined ? {} : { pricing }),
      actor,
    },
  };
}

/** The plan's own billing rules change (PlanDefinition.billing), as the control plane records it. */
export function planBillingChanged(planId: string, billing: BillingRulesOverride | null): PlanUpdated {
  return { type: "PlanUpdated", version: 1, data: { planId, changes: { billing }, actor } };
}

export function planMeterChanged(planId: string, meterEventName: string | null): PlanUpdated {
  return { type: "PlanUpdated", version: 1, data: { planId, changes: { price: { stripePriceId: `price_${planId}_2`, stripeMeterEventName: meterEventName } }, actor } };
}

export function consumerRegistered(consumerId: string, stripeCustomerId: string | null): ConsumerRegistered {
  return {
    type: "ConsumerRegistered",
    version: 1,
    data: { consumerId, name: consumerId, email: null, labels: stripeCustomerId === null ? {} : { stripeCustomerId }, actor },
  };
}

export function consumerLabelled(consumerId: string, stripeCustomerId: string): ConsumerUpdated {
  return { type: "ConsumerUpdated", version: 1, data: { consumerId, changes: { labels: { stripeCustomerId } }, actor } };
}

export function subscriptionStarted(subscriptionId: string, consumerId: string, planId: string, billingAnchor?: string | null): SubscriptionStarted {
  return { type: "SubscriptionStarted", version: 1, data: { subscriptionId, consumerId, planId, ...(billingAnchor === undefined ? {} : { billingAnchor }), actor } };
}

export function subscriptionPlanChanged(subscriptionId: string, consumerId: string, fromPlanId: string, toPlanId: string): SubscriptionPlanChanged {
  return { type: "SubscriptionPlanChanged", version: 1, data: { subscriptionId, consumerId, fromPlanId, toPlanId, actor } };
}

export interface RequestShape {
  subscriptionId?: string | null;
  planId?: string | null;
  startedAt?: string;
}

let counter = 0;

function base(shape: RequestShape, status: number) {
  counter += 1;
  return {
    requestId: `req-${counter}`,
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
    planId: shape.planId === undefined ? "metered" : shape.planId,
    subscriptionId: shape.subscriptionId === undefined ? "sub-1" : shape.subscriptionId,
  };
}

export function completed(shape: RequestShape = {}, status = 200, cacheStatus: "hit" | "miss" | "bypass" | "none" = "none"): RequestEvent {
  return { type: "RequestCompleted", version: 1, data: { ...base(shape, status), upstream: "http://127.0.0.1:9", attempts: 1, upstreamLatencyMs: 2, cacheStatus } };
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

export function rejected(shape: RequestShape = {}): RequestEvent {
  return { type: "RequestRejected", version: 1, data: { ...base(shape, 429), stage: "rate-limit", reason: "test", limit: "per-second" } };
}

export function failed(shape: RequestShape = {}, error: "upstream-error" | "client-abort" = "upstream-error", attempts = 1, fallbackServed = false): RequestEvent {
  return {
    type: "RequestFailed",
    version: 1,
    data: { ...base(shape, 502), upstream: attempts > 0 ? "http://127.0.0.1:9" : null, attempts, error, detail: "test", fallbackServed },
  };
}

/** Events as the log would deliver them, at positions 1, 2, 3… from `first`. */
export function recorded(events: readonly TollgateEvent[], first = 1): RecordedEvent[] {
  return events.map((event, index) => {
    const streamId =
      event.type.startsWith("Request") ? "requests-gw-1"
      : event.type.startsWith("Plan") ? `plan-${(event.data as { planId: string }).planId}`
      : event.type.startsWith("Consumer") ? `consumer-${(event.data as { consumerId: string }).consumerId}`
      : `subscription-${(event.data as { subscriptionId: string }).subscriptionId}`;
    return { id: `e-${first + index}`, type: event.type, version: 1, data: event.data, metadata: {}, streamId, revision: 0, position: BigInt(first + index), recordedAt: new Date(0) };
  });
}
