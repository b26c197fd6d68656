import { describe, expect, it } from "vitest";
import { defaultBillingRules, isBillable } from "./billing-rules.js";
import { InvalidEventError, parseEvent } from "./parse-event.js";
import type { RequestCompleted } from "./request-events.js";
import { sampleRequestCompleted } from "./testing.js";
import { categoryOf, streams } from "./streams.js";

const completed: RequestCompleted["data"] = sampleRequestCompleted().data;

describe("request events", () => {
  it("parses a valid RequestCompleted", () => {
    const event = parseEvent("RequestCompleted", 1, completed);
    expect(event.type).toBe("RequestCompleted");
    expect(event.data).toEqual(completed);
  });

  it("names every invalid field with its path", () => {
    const bad = { ...completed, status: 42, attempts: -1 };
    try {
      parseEvent("RequestCompleted", 1, bad);
      expect.fail("should throw");
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidEventError);
      const issues = (error as InvalidEventError).issues.join("\n");
      expect(issues).toContain("data.status");
      expect(issues).toContain("data.attempts");
    }
  });

  it("records a response served from the gateway's cache with no upstream attempt, billed by the cacheHits rule", () => {
    for (const cacheStatus of ["hit", "stale"] as const) {
      const event = parseEvent("RequestCompleted", 1, { ...completed, upstream: "", attempts: 0, upstreamLatencyMs: 0, cacheStatus }) as RequestCompleted;
      expect(event.data).toMatchObject({ attempts: 0, cacheStatus });
      expect(isBillable(event, defaultBillingRules)).toBe(true);
      expect(isBillable(event, { ...defaultBillingRules, cacheHits: false })).toBe(false);
    }
    const miss = parseEvent("RequestCompleted", 1, { ...completed, cacheStatus: "miss" }) as RequestCompleted;
    expect(isBillable(miss, { ...defaultBillingRules, cacheHits: false })).toBe(true);
  });

  it("rejects unknown event types and versions", () => {
    expect(() => parseEvent("RequestTeleported", 1, completed)).toThrow(InvalidEventError);
    expect(() => parseEvent("RequestCompleted", 2, completed)).toThrow(InvalidEventError);
  });

  it("requires the rejection stage to be one of the known stages", () => {
    const { upstream: _u, attempts: _a, upstreamLatencyMs: _l, cacheStatus: _c, ...base } = completed;
    const rejected = { ...base, status: 401, stage: "auth", reason: "missing credential", limit: null };
    expect(parseEvent("RequestRejected", 1, rejected).type).toBe("RequestRejected");
    expect(() => parseEvent("RequestRejected", 1, { ...rejected, stage: "vibes" })).toThrow(/data.stage/);
  });
});

describe("streams", () => {
  it("names request streams by category", () => {
    expect(streams.requests("gw-1")).toBe("requests-gw-1");
    expect(categoryOf(streams.requests("gw-1"))).toBe("requests");
  });
});
