import { describe, expect, it } from "vitest";
import { classifyStripeError } from "./stripe-meter-sender.js";

describe("classifyStripeError", () => {
  it("retries 429, 5xx, 409, 401/403, timeouts and connection errors; rejects other 4xx for good", () => {
    const cases: [unknown, string, boolean][] = [
      [{ type: "StripeRateLimitError", statusCode: 429, message: "slow down" }, "rate-limited", true],
      [{ type: "StripeAPIError", statusCode: 500, message: "boom" }, "server-error", true],
      [{ type: "StripeError", statusCode: 503, message: "unavailable" }, "server-error", true],
      [{ type: "StripeIdempotencyError", statusCode: 409, message: "in progress" }, "conflict", true],
      [{ type: "StripeConnectionError", message: "Request aborted due to timeout being reached (1000ms)" }, "timeout", true],
      [{ type: "StripeConnectionError", message: "ECONNREFUSED" }, "connection", true],
      [new Error("socket hang up"), "connection", true],
      [{ type: "StripeInvalidRequestError", statusCode: 400, message: "timestamp too old" }, "rejected", false],
      [{ type: "StripeIdempotencyError", statusCode: 400, message: "other params" }, "rejected", false],
      [{ type: "StripeAuthenticationError", statusCode: 401, message: "bad key" }, "unauthorized", true],
      [{ type: "StripePermissionError", statusCode: 403, message: "restricted key" }, "unauthorized", true],
      [{ type: "StripeInvalidRequestError", statusCode: 404, message: "No such customer" }, "rejected", false],
    ];
    for (const [error, kind, retryable] of cases) {
      const classified = classifyStripeError(error);
      expect([classified.kind, classified.retryable]).toEqual([kind, retryable]);
    }
  });
});
