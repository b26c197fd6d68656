import { describe, expect, it } from "vitest";
import { timeOrderedUuid } from "./time-ordered-uuid.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("timeOrderedUuid", () => {
  it("is a version 7, RFC 9562 variant UUID that carries the millisecond timestamp", () => {
    const now = Date.UTC(2026, 10, 26, 12, 0, 0, 123);
    const id = timeOrderedUuid(now);
    expect(id).toMatch(UUID_V7);
    expect(Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16)).toBe(now);
  });

  it("increases strictly within one process, also within one millisecond and when the clock steps back", () => {
    const ids = [
      ...Array.from({ length: 5_000 }, () => timeOrderedUuid(Date.UTC(2030, 0, 1))),
      ...Array.from({ length: 10 }, () => timeOrderedUuid(Date.UTC(2029, 0, 1))),
      ...Array.from({ length: 10 }, () => timeOrderedUuid(Date.UTC(2031, 0, 1))),
    ];
    for (let index = 1; index < ids.length; index++) expect(ids[index]! > ids[index - 1]!).toBe(true);
    expect(ids.every((id) => UUID_V7.test(id))).toBe(true);
  });

  it("does not repeat across 100,000 ids", () => {
    const ids = new Set(Array.from({ length: 100_000 }, () => timeOrderedUuid()));
    expect(ids.size).toBe(100_000);
  });
});
