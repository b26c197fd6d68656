import { describe, expect, it } from "vitest";
import { compileGrpcBindings } from "./grpc-bindings.js";
import { buildRequestMessage } from "./grpc-request-mapping.js";
import { messageToJson } from "./json-mapping.js";
import { loadProtoRoot } from "./load-proto-root.js";
import { matchPathTemplate } from "./path-template.js";
import { thingsProto, thingsService } from "./test-support/things-server.js";

const { bindings } = compileGrpcBindings(loadProtoRoot(thingsProto), thingsService, []);

/** The request message (as proto3 JSON) an HTTP request maps to. */
function mapped(method: string, path: string, query = "", body: unknown = undefined): unknown {
  for (const binding of bindings) {
    if (binding.httpMethod !== method) continue;
    const values = matchPathTemplate(binding.template, path);
    if (values === null) continue;
    const bytes = buildRequestMessage(binding, values, query, body === undefined ? null : Buffer.from(typeof body === "string" ? body : JSON.stringify(body)));
    const type = (binding).method.requestType;
    return { method: binding.method.name, message: messageToJson(type, type.decode(bytes)) };
  }
  return null;
}

describe("HTTP request → request message (google.api.http)", () => {
  it("tries the more specific binding first", () => {
    expect(mapped("GET", "/v1/shelves/s1/things:stream")).toMatchObject({ method: "ListThings" });
    expect(mapped("GET", "/v1/shelves/s1/things/t1")).toMatchObject({ method: "GetThing" });
    expect(mapped("POST", "/v1/upload")).toBeNull();
  });

  it("converts query text by field type: booleans, enum names and numbers, repeated fields, nested fields, well-known types", () => {
    expect(mapped("GET", "/v1/shelves/s1/things/t1", "?color=2&tags=x&tags=y&owner.level=7&asOf=1970-01-01T00:00:01Z&minCount=12")).toEqual({
      method: "GetThing",
      message: { shelfId: "s1", id: "t1", color: "GREEN", minCount: "12", tags: ["x", "y"], owner: { name: "", level: 7 }, asOf: "1970-01-01T00:00:01Z" },
    });
    expect(() => mapped("GET", "/v1/shelves/s1/things/t1", "?owner=ann")).toThrow('message field "owner" cannot be set from a path or query parameter');
    expect(() => mapped("GET", "/v1/shelves/s1/things/t1", "?owner.level=high")).toThrow("owner.level: expected a int32");
  });

  it("sets path variables over the body, whichever name the body used", () => {
    expect(mapped("PATCH", "/v1/things/from-path", "", { id: "from-body", shelfId: "s9" })).toMatchObject({ message: { id: "from-path", shelfId: "s9" } });
    expect(mapped("POST", "/v1/shelves/s1/things", "", { id: "x" })).toMatchObject({ method: "CreateThing", message: { shelfId: "s1", thing: { id: "x" } } });
  });

  it("ignores the query when the body is the whole message, and refuses a query parameter for the body field", () => {
    expect(mapped("PATCH", "/v1/things/t1", "?anything=1", {})).toMatchObject({ message: { id: "t1" } });
    expect(() => mapped("POST", "/v1/shelves/s1/things", "?thing.id=x", {})).toThrow('query parameter "thing.id": the field is bound to the request body');
  });

  it("refuses a body that is not a JSON object when the body is the whole message", () => {
    expect(() => mapped("PATCH", "/v1/things/t1", "", "[1]")).toThrow("the request body must be a JSON object");
    expect(mapped("PATCH", "/v1/things/t1", "", "")).toMatchObject({ message: { id: "t1" } });
  });
});
