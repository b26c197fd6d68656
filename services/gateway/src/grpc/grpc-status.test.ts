import { describe, expect, it } from "vitest";
import { failureKindOf, grpcStatusName, problemForGrpcStatus } from "./grpc-status.js";

describe("gRPC status → HTTP", () => {
  it("maps every code the way google.rpc.Code documents it", () => {
    const expected: Record<string, number> = {
      CANCELLED: 499,
      UNKNOWN: 500,
      INVALID_ARGUMENT: 400,
      DEADLINE_EXCEEDED: 504,
      NOT_FOUND: 404,
      ALREADY_EXISTS: 409,
      PERMISSION_DENIED: 403,
      RESOURCE_EXHAUSTED: 429,
      FAILED_PRECONDITION: 400,
      ABORTED: 409,
      OUT_OF_RANGE: 400,
      UNIMPLEMENTED: 501,
      INTERNAL: 500,
      UNAVAILABLE: 503,
      DATA_LOSS: 500,
      UNAUTHENTICATED: 401,
    };
    const mapped: Record<string, number> = {};
    for (let code = 1; code <= 16; code++) mapped[grpcStatusName(code)] = problemForGrpcStatus(code).status;
    expect(mapped).toEqual(expected);
  });

  it("names codes, and treats an unknown code as UNKNOWN", () => {
    expect(grpcStatusName(0)).toBe("OK");
    expect(grpcStatusName(5)).toBe("NOT_FOUND");
    expect(grpcStatusName(42)).toBe("UNKNOWN");
    expect(problemForGrpcStatus(42).code).toBe("grpc-unknown");
  });

  it("records only DEADLINE_EXCEEDED and UNAVAILABLE as upstream failures", () => {
    const failures = Array.from({ length: 17 }, (_, code) => [grpcStatusName(code), failureKindOf(code)]).filter(([, kind]) => kind !== null);
    expect(failures).toEqual([
      ["DEADLINE_EXCEEDED", "timeout"],
      ["UNAVAILABLE", "upstream-error"],
    ]);
  });
});
