import { z } from "zod";

/**
 * Request events: exactly one per request that reaches the gateway's router.
 * None of them carries a secret: paths are recorded without their query string,
 * and credentials appear only by id.
 */

const identity = {
  consumerId: z.string().nullable().describe("Consumer the request was attributed to, when known"),
  credentialId: z.string().nullable().describe("Credential id (never the credential itself)"),
  planId: z.string().nullable(),
  subscriptionId: z.string().nullable(),
};

const requestBase = {
  requestId: z.string().min(1).max(200),
  gatewayId: z.string().min(1),
  startedAt: z.iso.datetime({ offset: true }).describe("When the gateway received the request head"),
  durationMs: z.number().nonnegative().describe("Gateway receive to last byte sent"),
  routeId: z.string().nullable().describe("Matched route, null when no route matched"),
  method: z.string().min(1),
  path: z.string().describe("Normalized request path, without the query string"),
  routeTemplate: z.string().nullable().describe("The matched route's path pattern"),
  status: z.number().int().min(100).max(599),
  clientIp: z.string(),
  bytesIn: z.number().int().nonnegative(),
  bytesOut: z.number().int().nonnegative(),
  controlPlaneVersion: z.string().nullable().describe("Log position of the control-plane state the request was decided under"),
  ...identity,
};

export const cacheStatuses = ["hit", "miss", "bypass", "none"] as const;

export const RequestCompleted = z.object({
  type: z.literal("RequestCompleted"),
  version: z.literal(1),
  data: z.object({
    ...requestBase,
    upstream: z.string().describe("Upstream target that produced the response"),
    attempts: z.number().int().min(1),
    upstreamLatencyMs: z.number().nonnegative().describe("Request sent upstream to response head received"),
    cacheStatus: z.enum(cacheStatuses),
  }),
});

export const rejectionStages = ["route", "ip", "headers", "auth", "authz", "rate-limit", "quota", "validation"] as const;

export const RequestRejected = z.object({
  type: z.literal("RequestRejected"),
  version: z.literal(1),
  data: z.object({
    ...requestBase,
    stage: z.enum(rejectionStages),
    reason: z.string().max(500),
    limit: z.string().nullable().describe("Name of the rate limit or quota that fired, for rate-limit and quota rejections"),
  }),
});

export const failureKinds = ["upstream-error", "timeout", "circuit-open", "client-abort"] as const;

export const RequestFailed = z.object({
  type: z.literal("RequestFailed"),
  version: z.literal(1),
  data: z.object({
    ...requestBase,
    upstream: z.string().nullable(),
    attempts: z.number().int().min(0),
    error: z.enum(failureKinds),
    detail: z.string().max(500),
    fallbackServed: z.boolean(),
  }),
});

export const RequestEvent = z.discriminatedUnion("type", [RequestCompleted, RequestRejected, RequestFailed]);

export type RequestCompleted = z.infer<typeof RequestCompleted>;
export type RequestRejected = z.infer<typeof RequestRejected>;
export type RequestFailed = z.infer<typeof RequestFailed>;
export type RequestEvent = z.infer<typeof RequestEvent>;
export type RequestEventType = RequestEvent["type"];
export type RejectionStage = (typeof rejectionStages)[number];
export type FailureKind = (typeof failureKinds)[number];
export type CacheStatus = (typeof cacheStatuses)[number];

export const requestEventTypes: readonly RequestEventType[] = ["RequestCompleted", "RequestRejected", "RequestFailed"];
