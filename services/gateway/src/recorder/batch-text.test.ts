import { describe, expect, it } from "vitest";
import { batchLine, parseBatchText } from "./batch-text.js";

describe("batch text", () => {
  it("round-trips events whose data holds tabs, newlines and other control characters", () => {
    const data = [
      { path: "/a\tb", reason: "line one\nline two", note: "\r\u0000\u2028" },
      { empty: "" },
      { nested: { list: [1, "x\ty"] } },
    ];
    const text = data.map((d, i) => batchLine(`id-${i}`, "RequestCompleted", i + 1, JSON.stringify(d))).join("");
    expect(text.split("\n")).toHaveLength(data.length + 1);
    const events = parseBatchText(text);
    expect(events.map((e) => [e.id, e.type, e.version])).toEqual([
      ["id-0", "RequestCompleted", 1],
      ["id-1", "RequestCompleted", 2],
      ["id-2", "RequestCompleted", 3],
    ]);
    expect(events.map((e) => JSON.parse(e.serializedData!) as unknown)).toEqual(data);
    expect(events.every((e) => e.data === undefined)).toBe(true);
  });

  it("reads an empty batch as no events", () => {
    expect(parseBatchText("")).toEqual([]);
  });

  it("refuses a line without its four fields", () => {
    expect(() => parseBatchText("id\tRequestCompleted\n")).toThrow(/malformed event line/);
  });
});
