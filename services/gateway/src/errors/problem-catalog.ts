/**
 * Every error the gateway answers with. Each entry becomes an
 * application/problem+json response (RFC 9457) in problem-response.ts and nowhere
 * else; `type` is `urn:tollgate:problem:<code>`, listed in docs/gateway.md.
 */
export interface ProblemType {
  /** Stable, machine-readable; clients may branch on it. */
  readonly code: string;
  readonly status: number;
  /** Short and the same for every occurrence (RFC 9457 3.1.3). */
  readonly title: string;
  /** Whether the same request may succeed if sent again later. */
  readonly retryable: boolean;
}

export const problems = {
  badRequest: { code: "bad-request", status: 400, title: "Malformed request", retryable: false },
  invalidHost: { code: "invalid-host", status: 400, title: "Missing, repeated or invalid Host header", retryable: false },
  invalidFraming: { code: "invalid-framing", status: 400, title: "Ambiguous or unsupported message framing", retryable: false },
  invalidRequestTarget: { code: "invalid-request-target", status: 400, title: "Unsupported request target", retryable: false },
  invalidPath: { code: "invalid-path", status: 400, title: "Request path refused", retryable: false },
  invalidHeader: { code: "invalid-header", status: 400, title: "Request header refused", retryable: false },
  unauthorized: { code: "unauthorized", status: 401, title: "Missing or invalid credentials", retryable: false },
  forbidden: { code: "forbidden", status: 403, title: "Not allowed", retryable: false },
  addressNotAllowed: { code: "address-not-allowed", status: 403, title: "Client address not allowed", retryable: false },
  routeNotFound: { code: "route-not-found", status: 404, title: "No route matches the request", retryable: false },
  requestTimeout: { code: "request-timeout", status: 408, title: "Request not received in time", retryable: true },
  bodyTooLarge: { code: "body-too-large", status: 413, title: "Request body too large", retryable: false },
  headersTooLarge: { code: "headers-too-large", status: 431, title: "Request header fields too large", retryable: false },
  graphqlBadRequest: { code: "graphql-bad-request", status: 400, title: "Unreadable GraphQL request", retryable: false },
  graphqlLimitExceeded: { code: "graphql-limit-exceeded", status: 400, title: "GraphQL query over the route's limits", retryable: false },
  graphqlIntrospectionBlocked: { code: "graphql-introspection-blocked", status: 400, title: "GraphQL introspection not allowed", retryable: false },
  graphqlNotAllowListed: { code: "graphql-not-allow-listed", status: 400, title: "GraphQL query not on the allow-list", retryable: false },
  websocketHandshakeInvalid: { code: "websocket-handshake-invalid", status: 400, title: "Invalid WebSocket handshake", retryable: false },
  internalError: { code: "internal-error", status: 500, title: "Internal gateway error", retryable: true },
  upstreamUnreachable: { code: "upstream-unreachable", status: 502, title: "Upstream unreachable", retryable: true },
  noHealthyUpstream: { code: "no-healthy-upstream", status: 503, title: "No healthy upstream target", retryable: true },
  circuitOpen: { code: "circuit-open", status: 503, title: "Upstream circuit open", retryable: true },
  upstreamBadResponse: { code: "upstream-bad-response", status: 502, title: "Invalid response from upstream", retryable: true },
  authUnavailable: { code: "auth-unavailable", status: 503, title: "Credentials cannot be checked right now", retryable: true },
  upstreamTimeout: { code: "upstream-timeout", status: 504, title: "Upstream timed out", retryable: true },
  cachePurgeDisabled: { code: "cache-purge-disabled", status: 404, title: "Cache purge is not enabled (cache.adminToken)", retryable: false },
  // gRPC transcoding (routes with `grpc`): the request that does not map to the method,
  // then one type per gRPC status code, at the HTTP status google.rpc.Code gives it.
  grpcNoBinding: { code: "grpc-no-binding", status: 404, title: "No gRPC method is bound to this method and path", retryable: false },
  grpcInvalidRequest: { code: "grpc-invalid-request", status: 400, title: "Request does not map to the gRPC request message", retryable: false },
  grpcCancelled: { code: "grpc-cancelled", status: 499, title: "gRPC call cancelled", retryable: true },
  grpcUnknown: { code: "grpc-unknown", status: 500, title: "gRPC upstream failed (UNKNOWN)", retryable: false },
  grpcInvalidArgument: { code: "grpc-invalid-argument", status: 400, title: "Invalid argument", retryable: false },
  grpcDeadlineExceeded: { code: "grpc-deadline-exceeded", status: 504, title: "gRPC deadline exceeded", retryable: true },
  grpcNotFound: { code: "grpc-not-found", status: 404, title: "Not found", retryable: false },
  grpcAlreadyExists: { code: "grpc-already-exists", status: 409, title: "Already exists", retryable: false },
  grpcPermissionDenied: { code: "grpc-permission-denied", status: 403, title: "Permission denied", retryable: false },
  grpcResourceExhausted: { code: "grpc-resource-exhausted", status: 429, title: "Resource exhausted", retryable: true },
  grpcFailedPrecondition: { code: "grpc-failed-precondition", status: 400, title: "Failed precondition", retryable: false },
  grpcAborted: { code: "grpc-aborted", status: 409, title: "Aborted", retryable: true },
  grpcOutOfRange: { code: "grpc-out-of-range", status: 400, title: "Out of range", retryable: false },
  grpcUnimplemented: { code: "grpc-unimplemented", status: 501, title: "Not implemented by the gRPC upstream", retryable: false },
  grpcInternal: { code: "grpc-internal", status: 500, title: "gRPC upstream internal error", retryable: false },
  grpcUnavailable: { code: "grpc-unavailable", status: 503, title: "gRPC upstream unavailable", retryable: true },
  grpcDataLoss: { code: "grpc-data-loss", status: 500, title: "gRPC upstream data loss", retryable: false },
  grpcUnauthenticated: { code: "grpc-unauthenticated", status: 401, title: "Not authenticated by the gRPC upstream", retryable: false },
} as const satisfies Record<string, ProblemType>;

export type ProblemName = keyof typeof problems;

export function problemTypeUri(problem: ProblemType): string {
  return `urn:tollgate:problem:${problem.code}`;
}
