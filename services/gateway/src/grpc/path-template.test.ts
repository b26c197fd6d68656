import { describe, expect, it } from "vitest";
import { compilePathTemplate, matchPathTemplate, PathTemplateError } from "./path-template.js";

function match(template: string, path: string): Record<string, string> | null {
  const values = matchPathTemplate(compilePathTemplate(template), path);
  return values === null ? null : Object.fromEntries(values);
}

describe("google.api.http path templates", () => {
  it("binds {field} to one segment and {field.sub} to a nested field", () => {
    expect(match("/v1/shelves/{shelf_id}/things/{id}", "/v1/shelves/s1/things/t1")).toEqual({ shelf_id: "s1", id: "t1" });
    expect(match("/v1/owners/{owner.name}/things/{id}", "/v1/owners/ann/things/7")).toEqual({ "owner.name": "ann", id: "7" });
    expect(match("/v1/shelves/{shelf_id}", "/v1/shelves/s1/things")).toBeNull();
    expect(match("/v1/shelves/{shelf_id}", "/v1/shelves/")).toBeNull();
    expect(match("/v1/shelves/{shelf_id}", "/v1/books/s1")).toBeNull();
  });

  it("binds {field=pattern} over several segments, and ** to the rest of the path", () => {
    expect(match("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books/b2")).toEqual({ name: "shelves/s1/books/b2" });
    expect(match("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/records/b2")).toBeNull();
    expect(match("/v1/files/{path=**}", "/v1/files/a/b/c.txt")).toEqual({ path: "a/b/c.txt" });
    expect(match("/v1/*/things", "/v1/any/things")).toEqual({});
  });

  it("percent-decodes values and matches a trailing :verb", () => {
    expect(match("/v1/things/{id}", "/v1/things/a%20b")).toEqual({ id: "a b" });
    expect(match("/v1/things/{id}:cancel", "/v1/things/t1:cancel")).toEqual({ id: "t1" });
    expect(match("/v1/things/{id}:cancel", "/v1/things/t1")).toBeNull();
    expect(match("/v1/things/{id}", "/v1/things/%zz")).toBeNull();
  });

  it("counts literal segments, so that the more specific template can be tried first", () => {
    expect(compilePathTemplate("/v1/shelves/{shelf_id}/things:stream").literals).toBe(3);
    expect(compilePathTemplate("/v1/{name=**}").literals).toBe(1);
    expect(compilePathTemplate("/").items).toEqual([]);
  });

  it("refuses malformed templates", () => {
    for (const template of ["v1/things", "/v1/{id", "/v1/{1d}", "/v1/**/x", "/v1/{id}/{id}", "/v1/a b"]) {
      expect(() => compilePathTemplate(template), template).toThrow(PathTemplateError);
    }
  });
});
