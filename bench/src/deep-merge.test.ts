import { describe, expect, it } from "vitest";
import { deepMerge } from "./deep-merge.js";

describe("deepMerge", () => {
  it("merges nested objects and replaces scalars and arrays", () => {
    const base = { listen: { host: "127.0.0.1", port: 0 }, routes: [{ id: "a" }], accessLog: "errors" };
    const extra = { listen: { port: 9000 }, routes: [{ id: "b" }], policies: { apiKey: { header: "x-api-key" } } };
    expect(deepMerge(base, extra)).toEqual({
      listen: { host: "127.0.0.1", port: 9000 },
      routes: [{ id: "b" }],
      accessLog: "errors",
      policies: { apiKey: { header: "x-api-key" } },
    });
  });

  it("modifies neither input", () => {
    const base = { a: { b: 1 } };
    const extra = { a: { c: 2 } };
    const merged = deepMerge(base, extra);
    (merged.a as Record<string, number>).b = 99;
    expect(base).toEqual({ a: { b: 1 } });
    expect(extra).toEqual({ a: { c: 2 } });
  });

  it("lets an object replace a scalar and null replace an object", () => {
    expect(deepMerge({ a: 1, b: { c: 1 } }, { a: { x: 1 }, b: null })).toEqual({ a: { x: 1 }, b: null });
  });
});
