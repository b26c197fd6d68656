import type { FailureKind } from "@tollgate/events";
import { problems, type ProblemType } from "../errors/problem-catalog.js";

/** gRPC status codes by number (google.rpc.Code), with their names as recorded in events. */
export const grpcStatusNames = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

export type GrpcStatusName = (typeof grpcStatusNames)[number];

/**
 * The problem (and so the HTTP status) of each non-OK code, as google.rpc.Code
 * documents the mapping and grpc-gateway and Envoy's transcoder apply it: 400 for the
 * caller's mistakes (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE), 401, 403,
 * 404, 409 for conflicts (ALREADY_EXISTS, ABORTED), 429, 499 for CANCELLED, 501, 503,
 * 504, and 500 for the server's own failures (INTERNAL, UNKNOWN, DATA_LOSS).
 */
const problemByCode: readonly ProblemType[] = [
  problems.internalError, // OK never maps to a problem
  problems.grpcCancelled,
  problems.grpcUnknown,
  problems.grpcInvalidArgument,
  problems.grpcDeadlineExceeded,
  problems.grpcNotFound,
  problems.grpcAlreadyExists,
  problems.grpcPermissionDenied,
  problems.grpcResourceExhausted,
  problems.grpcFailedPrecondition,
  problems.grpcAborted,
  problems.grpcOutOfRange,
  problems.grpcUnimplemented,
  problems.grpcInternal,
  problems.grpcUnavailable,
  problems.grpcDataLoss,
  problems.grpcUnauthenticated,
];

export function grpcStatusName(code: number): GrpcStatusName {
  return grpcStatusNames[code] ?? "UNKNOWN";
}

/** The problem a non-OK status is answered with; a code outside 1-16 is UNKNOWN's. */
export function problemForGrpcStatus(code: number): ProblemType {
  return (code > 0 ? problemByCode[code] : undefined) ?? problems.grpcUnknown;
}

/**
 * The codes that say the upstream could not serve the call at all, rather than
 * answering it: they are recorded as RequestFailed (served with the route's fallback
 * when it has one) and count against the target's health, as 502-504 do on HTTP
 * routes. Every other code is an answer: a RequestCompleted with the mapped status.
 */
export function failureKindOf(code: number): FailureKind | null {
  if (code === 4) return "timeout";
  if (code === 14) return "upstream-error";
  return null;
}
