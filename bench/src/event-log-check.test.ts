import { describe, expect, it } from "vitest";
import type { ArmRound } from "./arm-round.js";
import { checkEventLog } from "./event-log-check.js";

function gatewayRound(events: number | undefined, overrides: Partial<ArmRound> = {}): ArmRound {
  return {
    round: 1,
    position: 3,
    arm: "D",
    name: "tollgate",
    loadAverage: 1,
    measurements: {},
    peakRssKb: 0,
    // e.g. warmup 20,000 + open loop 6,000 + saturation 50,000 completed; two wrk runs of 50 connections.
    clientCompleted: 76_000,
    clientSentUpperBound: 76_100,
    upstreamServed: null,
    stop: events === undefined ? {} : { requestEvents: events },
    error: null,
    ...overrides,
  };
}

describe("checkEventLog", () => {
  it("does not apply to an arm without an event log", () => {
    expect(checkEventLog(gatewayRound(undefined))).toBeNull();
    expect(checkEventLog({ ...gatewayRound(1), stop: null })).toBeNull();
  });

  it("passes when every completed request has exactly one event", () => {
    const check = checkEventLog(gatewayRound(76_000))!;
    expect(check.ok).toBe(true);
    expect(check.explanation).toBe("every completed request has exactly one event");
  });

  it("accepts events of requests that were in flight when wrk stopped, up to one per connection per run", () => {
    expect(checkEventLog(gatewayRound(76_037))!.ok).toBe(true);
    expect(checkEventLog(gatewayRound(76_037))!.explanation).toContain("37 more were in flight");
    expect(checkEventLog(gatewayRound(76_100))!.ok).toBe(true);
  });

  it("fails when an event is missing, or there are more events than requests", () => {
    expect(checkEventLog(gatewayRound(75_999))).toMatchObject({ ok: false, explanation: "1 completed request(s) have no event" });
    expect(checkEventLog(gatewayRound(76_101))).toMatchObject({ ok: false, explanation: "1 event(s) more than requests sent" });
  });

  it("fails when the upstream served more requests than were recorded", () => {
    const check = checkEventLog(gatewayRound(76_010, { upstreamServed: 76_020 }))!;
    expect(check.ok).toBe(false);
    expect(check.explanation).toContain("upstream served 10 request(s) more");
    expect(checkEventLog(gatewayRound(76_020, { upstreamServed: 76_020 }))!.ok).toBe(true);
  });

  it("fails a round in which the arm failed", () => {
    expect(checkEventLog(gatewayRound(76_000, { error: "gateway crashed" }))!.ok).toBe(false);
  });
});
