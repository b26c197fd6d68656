import { describe, expect, it } from "vitest";
import { isoTimestamp } from "./iso-timestamp.js";

describe("isoTimestamp", () => {
  it("formats exactly like Date.prototype.toISOString", () => {
    const start = Date.UTC(2026, 10, 26, 23, 59, 58, 990);
    for (let offset = 0; offset < 3_000; offset += 7) {
      expect(isoTimestamp(start + offset)).toBe(new Date(start + offset).toISOString());
    }
    for (const ms of [0, 1, 999, 1_000, Date.UTC(2000, 1, 29, 12, 0, 0, 5), 1_795_666_318_280.75]) {
      expect(isoTimestamp(ms)).toBe(new Date(Math.floor(ms)).toISOString());
    }
  });
});
