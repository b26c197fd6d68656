import { describe, expect, it } from "vitest";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import { decideCachePurge, evolveCachePurge } from "./cache-purge-decider.js";

const context = { actor: { kind: "admin" as const, id: "ops" }, now: new Date("2026-11-26T10:00:00Z") };

describe("decideCachePurge", () => {
  it("records the request with the filter it names, once per purge id", () => {
    const events = decideCachePurge({ type: "RequestCachePurge", purgeId: "purge_1", routeId: "products" }, null, context);
    expect(events).toEqual([
      {
        type: "CachePurgeRequested",
        version: 1,
        data: { purgeId: "purge_1", routeId: "products", requestedAt: "2026-11-26T10:00:00.000Z", actor: context.actor },
      },
    ]);
    const state = evolveCachePurge(null, events[0]!);
    expect(() => decideCachePurge({ type: "RequestCachePurge", purgeId: "purge_1", keyPrefix: "x" }, state, context)).toThrow(ControlPlaneError);
  });
});
