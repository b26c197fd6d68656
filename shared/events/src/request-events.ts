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

export const graphqlOperationTypes = ["query", "mutation", "subscription"] as const;

/**
 * What a GraphQL-aware route learnt of the request's operation. Optional, so that the
 * events written before GraphQL routes existed (and every non-GraphQL request) still
 * parse: the field is added, never changed.
 */
export const GraphqlOperation = z.strictObject({
  operationName: z.string().max(200).nullable().describe("The operation's name; null for an anonymous operation"),
  operationType: z.enum(graphqlOperationTypes),
});

/**
 * The gRPC call a transcoding route (`grpc`) made for the request: the method, and the
 * gRPC status it ended with, by its code name ("OK", "NOT_FOUND"). For a request the
 * gateway refused before calling (its JSON did not fit the message) the status is the
 * one it answered as (INVALID_ARGUMENT); for a client that left first, CANCELLED.
 * Optional, like graphql: added, never changed.
 */
export const GrpcCall = z.strictObject({
  service: z.string().min(1).max(200).describe("Fully qualified service, e.g. pkg.v1.Things"),
  method: z.string().min(1).max(200),
  status: z.string().regex(/^[A-Z_]+$/).describe("gRPC status code name"),
});

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
  graphql: GraphqlOperation.optional().describe("The GraphQL operation, on routes with `graphql`, once the request's query was parsed; absent otherwise"),
  grpc: GrpcCall.optional().describe("The gRPC method and status, on routes with `grpc` once a method was bound; absent otherwise"),
};

/**
 * hit: served fresh from the gateway's cache; stale: served expired while a background
 * request refreshes it (stale-while-revalidate); miss: looked up, not found, sent
 * upstream; bypass: a cached route's request that the cache does not answer (not GET or
 * HEAD); none: the route has no cache. A stale entry answering for a failing upstream
 * (stale-if-error) is a RequestFailed with fallbackServed, not a RequestCompleted.
 */
export const cacheStatuses = ["hit", "stale", "miss", "bypass", "none"] as const;

export const webSocketClosers = ["client", "upstream", "gateway"] as const;

/**
 * A proxied WebSocket session, carried by the RequestCompleted of its upgrade request:
 * one event per connection, written when it closed, so that "every request produces
 * exactly one RequestCompleted, RequestRejected or RequestFailed" holds for upgrades
 * too and analytics, quota and billing read sessions without a new event type. The
 * event's bytesIn/bytesOut are the message payload bytes from and to the client, and
 * its durationMs is the session's whole life, handshake included.
 */
export const WebSocketSession = z.strictObject({
  messagesFromClient: z.number().int().nonnegative(),
  messagesFromUpstream: z.number().int().nonnegative(),
  bytesFromClient: z.number().int().nonnegative().describe("Message payload bytes the client sent"),
  bytesFromUpstream: z.number().int().nonnegative().describe("Message payload bytes the upstream sent"),
  closeCode: z.number().int().min(1000).max(4999).describe("The close code that ended the session (1005: none given, 1006: the connection dropped)"),
  closedBy: z.enum(webSocketClosers).describe("Who closed first: a peer, or the gateway (timeouts, shutdown)"),
});

export const RequestCompleted = z.object({
  type: z.literal("RequestCompleted"),
  version: z.literal(1),
  data: z.object({
    ...requestBase,
    upstream: z.string().describe("Upstream target that produced the response"),
    attempts: z.number().int().min(0).describe("Upstream attempts, retries included; 0 for a response served from the cache (hit or stale)"),
    upstreamLatencyMs: z.number().nonnegative().describe("Request sent upstream to response head received"),
    targetsTried: z
      .array(z.string().min(1).max(2_000))
      .max(20)
      .optional()
      .describe("Every target the request was sent to, in order of first attempt, when it was retried (attempts > 1); absent otherwise: `upstream` is the one"),
    cacheStatus: z.enum(cacheStatuses),
    websocket: WebSocketSession.optional().describe("Present when the request was a WebSocket upgrade (status 101): the session, recorded once it closed"),
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
    targetsTried: z
      .array(z.string().min(1).max(2_000))
      .max(20)
      .optional()
      .describe("Every target the request was sent to, in order of first attempt, when it was retried (attempts > 1); absent otherwise: `upstream` is the one"),
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
export type GraphqlOperation = z.infer<typeof GraphqlOperation>;
export type GrpcCall = z.infer<typeof GrpcCall>;
export type GraphqlOperationType = (typeof graphqlOperationTypes)[number];
export type WebSocketSession = z.infer<typeof WebSocketSession>;

export const requestEventTypes: readonly RequestEventType[] = ["RequestCompleted", "RequestRejected", "RequestFailed"];
