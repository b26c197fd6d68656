import { describe, expect, it } from "vitest";
import { parseNonFinite, stringifyNonFinite } from "./non-finite-json.js";

describe("non-finite JSON", () => {
  it("round-trips Infinity and NaN where plain JSON gives null", () => {
    const value = { p99: Number.POSITIVE_INFINITY, low: Number.NEGATIVE_INFINITY, cpu: Number.NaN, n: 3, nested: [1, Number.NaN] };
    expect(JSON.parse(JSON.stringify(value))).toMatchObject({ p99: null });
    const back = parseNonFinite(stringifyNonFinite(value)) as typeof value;
    expect(back.p99).toBe(Number.POSITIVE_INFINITY);
    expect(back.low).toBe(Number.NEGATIVE_INFINITY);
    expect(back.cpu).toBeNaN();
    expect(back.n).toBe(3);
    expect(back.nested[1]).toBeNaN();
  });
});
