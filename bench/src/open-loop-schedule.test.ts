import { describe, expect, it } from "vitest";
import { OpenLoopSchedule } from "./open-loop-schedule.js";

describe("OpenLoopSchedule", () => {
  it("holds rate x duration requests, evenly spaced", () => {
    const schedule = new OpenLoopSchedule(2000, 3);
    expect(schedule.total).toBe(6000);
    expect(schedule.offsetUs(0)).toBe(0);
    expect(schedule.offsetUs(1)).toBe(500);
    expect(schedule.offsetUs(2000)).toBe(1_000_000);
    expect(schedule.lastOffsetUs).toBe(2_999_500);
  });

  it("rounds fractional totals and never schedules fewer than one request", () => {
    expect(new OpenLoopSchedule(3, 0.5).total).toBe(2);
    expect(new OpenLoopSchedule(1, 0.1).total).toBe(1);
  });

  it("counts a request as due exactly at its offset", () => {
    const schedule = new OpenLoopSchedule(2000, 1);
    expect(schedule.dueCount(-1)).toBe(0);
    expect(schedule.dueCount(0)).toBe(1);
    expect(schedule.dueCount(499.999)).toBe(1);
    expect(schedule.dueCount(500)).toBe(2);
    expect(schedule.dueCount(1_250)).toBe(3);
    expect(schedule.dueCount(10_000_000)).toBe(2000);
  });

  it("agrees with offsetUs for awkward rates (no floating-point off-by-one)", () => {
    for (const rate of [3, 7, 1000 / 3, 2000, 2999]) {
      const schedule = new OpenLoopSchedule(rate, 2);
      for (let i = 0; i < schedule.total; i++) {
        const at = schedule.offsetUs(i);
        expect(schedule.dueCount(at)).toBe(i + 1);
        if (i > 0) expect(schedule.dueCount(at - 1e-6)).toBe(i);
      }
    }
  });

  it("reports how long to sleep until the next request", () => {
    const schedule = new OpenLoopSchedule(1000, 1);
    expect(schedule.delayUntilNextUs(0, 0)).toBe(0);
    expect(schedule.delayUntilNextUs(1, 200)).toBe(800);
    // Behind schedule: no sleep, send at once.
    expect(schedule.delayUntilNextUs(3, 5_000)).toBe(0);
    expect(schedule.delayUntilNextUs(1000, 0)).toBeNull();
  });

  it("rejects a rate or duration that is not positive", () => {
    expect(() => new OpenLoopSchedule(0, 1)).toThrow(RangeError);
    expect(() => new OpenLoopSchedule(100, -1)).toThrow(RangeError);
    expect(() => new OpenLoopSchedule(Number.POSITIVE_INFINITY, 1)).toThrow(RangeError);
  });
});
