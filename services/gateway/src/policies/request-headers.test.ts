import { describe, expect, it } from "vitest";
import { removeHeader, removeHeaders, repeatedValue, singleHeader } from "./request-headers.js";

describe("singleHeader", () => {
  it("finds a field whatever its case, and tells a repeated one apart", () => {
    expect(singleHeader(["Accept", "*/*", "X-Api-Key", "k1"], "x-api-key")).toBe("k1");
    expect(singleHeader(["accept", "*/*"], "x-api-key")).toBeUndefined();
    expect(singleHeader(["x-api-key", "k1", "X-API-KEY", "k1"], "x-api-key")).toBe(repeatedValue);
  });
});

describe("removeHeaders", () => {
  it("removes every line of either field in place, keeping the others in order", () => {
    const headers = ["X-Consumer-Id", "spoof", "accept", "*/*", "x-plan-id", "gold", "x-consumer-id", "again", "user-agent", "t"];
    expect(removeHeaders(headers, "x-consumer-id", "x-plan-id")).toBe(3);
    expect(headers).toEqual(["accept", "*/*", "user-agent", "t"]);
  });

  it("leaves the list untouched when neither is there", () => {
    const headers = ["accept", "*/*", "x-plan-idx", "1"];
    expect(removeHeaders(headers, "x-consumer-id", "x-plan-id")).toBe(0);
    expect(headers).toEqual(["accept", "*/*", "x-plan-idx", "1"]);
  });

  it("removes one field", () => {
    const headers = ["x-api-key", "k", "accept", "*/*"];
    expect(removeHeader(headers, "x-api-key")).toBe(1);
    expect(headers).toEqual(["accept", "*/*"]);
  });
});
