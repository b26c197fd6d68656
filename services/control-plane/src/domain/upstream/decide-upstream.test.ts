import { describe, expect, it } from "vitest";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import { decideUpstream } from "./decide-upstream.js";
import { evolveUpstream } from "./evolve-upstream.js";

const context = { actor: { kind: "admin" as const, id: "ops" }, now: new Date("2026-01-01T00:00:00Z") };
const targets = [{ url: "http://10.0.0.5:9000", weight: 2 }];

describe("decideUpstream", () => {
  it("records a new target set, and nothing when it is the same", () => {
    const events = decideUpstream({ type: "SetUpstreamTargets", upstream: "orders", targets }, null, context);
    expect(events).toEqual([{ type: "UpstreamTargetsSet", version: 1, data: { upstream: "orders", targets, actor: context.actor } }]);
    const state = evolveUpstream(null, events[0]!);
    expect(state).toEqual({ upstream: "orders", targets });
    expect(decideUpstream({ type: "SetUpstreamTargets", upstream: "orders", targets }, state, context)).toEqual([]);
  });

  it("resets an override back to the config's targets once; an upstream never overridden is not found", () => {
    const state = { upstream: "orders", targets };
    const events = decideUpstream({ type: "ResetUpstreamTargets", upstream: "orders" }, state, context);
    expect(events).toEqual([{ type: "UpstreamTargetsReset", version: 1, data: { upstream: "orders", actor: context.actor } }]);
    const reset = evolveUpstream(state, events[0]!);
    expect(reset).toEqual({ upstream: "orders", targets: null });
    expect(decideUpstream({ type: "ResetUpstreamTargets", upstream: "orders" }, reset, context)).toEqual([]);
    expect(() => decideUpstream({ type: "ResetUpstreamTargets", upstream: "orders" }, null, context)).toThrow(ControlPlaneError);
  });
});
