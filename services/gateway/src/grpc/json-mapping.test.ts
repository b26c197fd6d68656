import { describe, expect, it } from "vitest";
import { thingsProto } from "./test-support/things-server.js";
import { jsonNameOf, jsonToMessage, JsonMappingError, messageToJson, timestampOut } from "./json-mapping.js";
import { loadProtoRoot } from "./load-proto-root.js";

const root = loadProtoRoot(thingsProto);
const Thing = root.lookupType("tollgate.testing.v1.Thing");

/** JSON → message → bytes → message → JSON, as a request and a response take it. */
function roundTrip(json: unknown): unknown {
  const bytes = Thing.encode(jsonToMessage(Thing, json)).finish();
  return messageToJson(Thing, Thing.decode(bytes));
}

describe("proto3 JSON mapping", () => {
  it("round-trips int64 and uint64 as decimal strings, beyond what a JSON number can carry", () => {
    const out = roundTrip({ count: "-9223372036854775808", big: "18446744073709551615", limit: "9223372036854775807" }) as Record<string, unknown>;
    expect(out).toMatchObject({ count: "-9223372036854775808", big: "18446744073709551615", limit: "9223372036854775807" });
    // A JSON number is accepted on the way in when it is exact.
    expect(roundTrip({ count: 42 })).toMatchObject({ count: "42" });
    expect(() => jsonToMessage(Thing, { count: "9223372036854775808" })).toThrow("count: expected a int64 as a decimal string");
    expect(() => jsonToMessage(Thing, { big: "-1" })).toThrow("big: expected a uint64");
    expect(() => jsonToMessage(Thing, { count: 2 ** 60 })).toThrow(JsonMappingError);
  });

  it("writes enums by name and reads names or numbers, refusing unknown names", () => {
    expect(roundTrip({ color: "GREEN" })).toMatchObject({ color: "GREEN" });
    expect(roundTrip({ color: 1 })).toMatchObject({ color: "RED" });
    expect(() => jsonToMessage(Thing, { color: "PURPLE" })).toThrow('color: unknown Color value "PURPLE"');
  });

  it("maps Timestamp to RFC 3339 (UTC, 0/3/6/9 fractional digits) and accepts offsets", () => {
    expect(roundTrip({ createdAt: "2026-11-26T10:00:00Z" })).toMatchObject({ createdAt: "2026-11-26T10:00:00Z" });
    expect(roundTrip({ createdAt: "2026-11-26T10:00:00.5+01:30" })).toMatchObject({ createdAt: "2026-11-26T08:30:00.500Z" });
    expect(roundTrip({ createdAt: "1969-12-31T23:59:59.000001Z" })).toMatchObject({ createdAt: "1969-12-31T23:59:59.000001Z" });
    expect(roundTrip({ createdAt: "2026-01-01T00:00:00.123456789Z" })).toMatchObject({ createdAt: "2026-01-01T00:00:00.123456789Z" });
    expect(timestampOut("0", 0)).toBe("1970-01-01T00:00:00Z");
    expect(() => jsonToMessage(Thing, { createdAt: "2026-02-30T00:00:00Z" })).toThrow("createdAt: not a valid date");
    expect(() => jsonToMessage(Thing, { createdAt: 1_700_000_000 })).toThrow("createdAt: expected an RFC 3339 timestamp");
  });

  it("maps Duration, the wrappers and Struct to their JSON forms", () => {
    expect(roundTrip({ ttl: "1.5s" })).toMatchObject({ ttl: "1.500s" });
    expect(roundTrip({ ttl: "-0.000000001s" })).toMatchObject({ ttl: "-0.000000001s" });
    expect(roundTrip({ limit: "7" })).toMatchObject({ limit: "7" });
    const attributes = { a: 1.5, b: "x", c: [true, null, { d: [] }], e: {} };
    expect(roundTrip({ attributes })).toMatchObject({ attributes });
  });

  it("uses lowerCamelCase or json_name on the way out and accepts either name on the way in", () => {
    const out = roundTrip({ shelf_id: "s1", label: "L", created_at: "2026-11-26T10:00:00Z" }) as Record<string, unknown>;
    expect(out).toMatchObject({ shelfId: "s1", label: "L", createdAt: "2026-11-26T10:00:00Z" });
    expect(out).not.toHaveProperty("shelf_id");
    expect(jsonNameOf(Thing.fields.display_name!)).toBe("label");
    expect(() => jsonToMessage(Thing, { shelfId: "a", shelf_id: "b" })).toThrow("field given twice");
  });

  it("writes every scalar, even at its default (and leaves unset messages out)", () => {
    expect(roundTrip({})).toEqual({ id: "", shelfId: "", count: "0", big: "0", color: "COLOR_UNSPECIFIED", tags: [], blob: "", score: 0, active: false, label: "" });
  });

  it("refuses unknown fields and values of the wrong JSON type, naming the field", () => {
    expect(() => jsonToMessage(Thing, { colour: "RED" })).toThrow('unknown field "colour"');
    expect(() => jsonToMessage(Thing, { owner: { level: "high" } })).toThrow("owner.level: expected a int32");
    expect(() => jsonToMessage(Thing, { tags: "a" })).toThrow("tags: expected a JSON array");
    expect(() => jsonToMessage(Thing, { active: "true" })).toThrow("active: expected true or false");
    expect(() => jsonToMessage(Thing, { blob: "not base64!" })).toThrow("blob: expected base64");
    expect(() => jsonToMessage(Thing, [])).toThrow("expected a JSON object");
  });
});
