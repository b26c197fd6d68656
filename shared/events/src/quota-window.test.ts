import { describe, expect, it } from "vitest";
import { quotaCounterKey } from "./quota-counter-key.js";
import { quotaWindow, type QuotaPeriod } from "./quota-window.js";

/**
 * [at, period, billing anchor, period start, period end], all UTC. The gateway's counter
 * key, the projector's counts and reconciliation and the control plane's usage views all
 * name their period with this function, so this table pins it for all of them.
 */
const cases: [string, QuotaPeriod, string | null, string, string][] = [
  ["2025-06-15T13:45:00.000Z", "day", null, "2025-06-15T00:00:00.000Z", "2025-06-16T00:00:00.000Z"],
  ["2025-06-15T00:00:00.000Z", "day", null, "2025-06-15T00:00:00.000Z", "2025-06-16T00:00:00.000Z"],
  ["2025-06-15T07:00:00.000Z", "day", "2025-01-10T08:30:00.000Z", "2025-06-14T08:30:00.000Z", "2025-06-15T08:30:00.000Z"],
  ["2025-06-15T08:30:00.000Z", "day", "2025-01-10T08:30:00.000Z", "2025-06-15T08:30:00.000Z", "2025-06-16T08:30:00.000Z"],
  ["2025-06-15T07:00:00.000Z", "day", "2026-03-01T08:30:00.000Z", "2025-06-14T08:30:00.000Z", "2025-06-15T08:30:00.000Z"],
  ["2025-02-28T23:59:59.999Z", "month", null, "2025-02-01T00:00:00.000Z", "2025-03-01T00:00:00.000Z"],
  ["2025-12-31T12:00:00.000Z", "month", null, "2025-12-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"],
  ["2025-01-10T00:00:00.000Z", "month", "2024-03-15T00:00:00.000Z", "2024-12-15T00:00:00.000Z", "2025-01-15T00:00:00.000Z"],
  ["2025-02-28T12:00:00.000Z", "month", "2025-01-31T10:00:00.000Z", "2025-02-28T10:00:00.000Z", "2025-03-31T10:00:00.000Z"],
  ["2025-02-28T09:00:00.000Z", "month", "2025-01-31T10:00:00.000Z", "2025-01-31T10:00:00.000Z", "2025-02-28T10:00:00.000Z"],
  ["2024-02-29T11:00:00.000Z", "month", "2025-01-31T10:00:00.000Z", "2024-02-29T10:00:00.000Z", "2024-03-31T10:00:00.000Z"],
  ["2025-04-30T10:00:00.000Z", "month", "2025-01-31T10:00:00.000Z", "2025-04-30T10:00:00.000Z", "2025-05-31T10:00:00.000Z"],
];

describe("quotaWindow", () => {
  it.each(cases)("%s, %s, anchor %s: [%s, %s)", (at, period, anchor, start, end) => {
    const window = quotaWindow(Date.parse(at), period, anchor === null ? null : Date.parse(anchor));
    expect({ period: window.period, start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() }).toEqual({
      period,
      start,
      end,
    });
  });
});

describe("quotaCounterKey", () => {
  it("names the subscription, the period and the period's start", () => {
    const window = quotaWindow(Date.parse("2025-02-28T12:00:00.000Z"), "month", Date.parse("2025-01-31T10:00:00.000Z"));
    expect(quotaCounterKey("tollgate:quota:", "sub-42", window)).toBe("tollgate:quota:sub-42:month:2025-02-28T10:00:00.000Z");
  });
});
