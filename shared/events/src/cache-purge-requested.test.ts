import { describe, expect, it } from "vitest";
import { categoryOf, controlEventTypes, controlStreamCategories, InvalidEventError, parseEvent, streams } from "./index.js";

const base = { purgeId: "purge_1", requestedAt: "2026-11-26T10:00:00.000Z", actor: { kind: "admin", id: "ops" } };

describe("CachePurgeRequested", () => {
  it("takes a routeId, a keyPrefix or both, on a control stream the gateways follow", () => {
    for (const filter of [{ routeId: "products" }, { keyPrefix: "api.example.com/products/" }, { routeId: "products", keyPrefix: "api.example.com/p" }]) {
      expect(parseEvent("CachePurgeRequested", 1, { ...base, ...filter })).toEqual({ type: "CachePurgeRequested", version: 1, data: { ...base, ...filter } });
    }
    expect(controlEventTypes).toContain("CachePurgeRequested");
    expect(controlStreamCategories).toContain(categoryOf(streams.cachePurge("purge_1")));
  });

  it("refuses a request that names no filter, or a route id no gateway config could hold", () => {
    expect(() => parseEvent("CachePurgeRequested", 1, base)).toThrow(InvalidEventError);
    expect(() => parseEvent("CachePurgeRequested", 1, { ...base, routeId: "a|b" })).toThrow(/routeId/);
    expect(() => parseEvent("CachePurgeRequested", 1, { ...base, keyPrefix: "" })).toThrow(/keyPrefix/);
  });
});
