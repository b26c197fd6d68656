import { describe, expect, it } from "vitest";
import { BatchBuffer, batchLine, maxUtf8Bytes, parseBatchBytes } from "./batch-text.js";

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("batch lines", () => {
  it("round-trip events whose data holds tabs, newlines, control and non-ASCII characters", () => {
    const data = [
      { path: "/a\tb", reason: "line one\nline two", note: "\r\u0000\u2028" },
      { empty: "" },
      { nested: { list: [1, "x\ty"] }, name: "Zoë 東京 🚀" },
    ];
    const batch = BatchBuffer.allocate(4_096);
    data.forEach((d, i) => expect(batch.append(batchLine(`id-${i}`, "RequestCompleted", i + 1, JSON.stringify(d)))).toBe(true));
    expect(batch.count).toBe(3);
    const events = parseBatchBytes(new Uint8Array(batch.shared, 0, batch.length));
    expect(events.map((e) => [e.id, e.type, e.version])).toEqual([
      ["id-0", "RequestCompleted", 1],
      ["id-1", "RequestCompleted", 2],
      ["id-2", "RequestCompleted", 3],
    ]);
    expect(events.map((e) => JSON.parse(e.serializedData!) as unknown)).toEqual(data);
    expect(events.every((e) => e.data === undefined)).toBe(true);
  });

  it("reads only the given length of a buffer, and an empty batch as no events", () => {
    const batch = BatchBuffer.allocate(1_024);
    batch.append(batchLine("a", "T", 1, "{}"));
    const written = batch.length;
    batch.append(batchLine("b", "T", 1, "{}"));
    expect(parseBatchBytes(new Uint8Array(batch.shared, 0, written)).map((e) => e.id)).toEqual(["a"]);
    expect(parseBatchBytes(new Uint8Array(0))).toEqual([]);
  });

  it("refuses a line that might not fit, and takes lines again after a reset", () => {
    const line = batchLine("id", "RequestCompleted", 1, JSON.stringify({ path: "/x".repeat(20) }));
    const batch = BatchBuffer.allocate(maxUtf8Bytes(line) + 10);
    expect(batch.append(line)).toBe(true);
    const length = batch.length;
    expect(batch.append(line)).toBe(false);
    expect([batch.count, batch.length]).toEqual([1, length]);
    batch.reset();
    expect(batch.append(line)).toBe(true);
    expect(parseBatchBytes(new Uint8Array(batch.shared, 0, batch.length))).toHaveLength(1);
  });

  it("refuses a line without its four fields", () => {
    expect(() => parseBatchBytes(encode("id\tRequestCompleted\n"))).toThrow(/malformed event line/);
  });
});
