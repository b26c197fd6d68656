import { describe, expect, it } from "vitest";
import { normalizePath } from "./normalize-path.js";
import { compileRouter, type Routable } from "./router.js";

function route(id: string, pathPrefix: string, hosts: string[] = [], methods: string[] = []): Routable {
  return { id, match: { pathPrefix, hosts, methods } };
}

const router = compileRouter([
  route("root", "/"),
  route("demo", "/demo"),
  route("demo-items", "/demo/items"),
  route("api-any", "/api"),
  route("api-wild", "/api", ["*.example.com"]),
  route("api-deep-wild", "/api", ["*.eu.example.com"]),
  route("api-exact", "/api", ["api.example.com"]),
  route("api-exact-post", "/api", ["api.example.com"], ["POST"]),
  route("admin-get", "/admin", [], ["GET"]),
]);

function matched(method: string, host: string, path: string): string | undefined {
  return router.match(method, host, path)?.id;
}

describe("Router", () => {
  it("matches a prefix only at a segment boundary", () => {
    expect(matched("GET", "", "/demo")).toBe("demo");
    expect(matched("GET", "", "/demo/")).toBe("demo");
    expect(matched("GET", "", "/demo/x")).toBe("demo");
    expect(matched("GET", "", "/demox")).toBe("root");
    expect(matched("GET", "", "/")).toBe("root");
  });

  it("prefers the longest prefix", () => {
    expect(matched("GET", "", "/demo/items")).toBe("demo-items");
    expect(matched("GET", "", "/demo/items/7")).toBe("demo-items");
    expect(matched("GET", "", "/demo/itemsx")).toBe("demo");
  });

  it("prefers an exact host over a wildcard, a longer wildcard over a shorter one, and any host last", () => {
    expect(matched("GET", "api.example.com", "/api/x")).toBe("api-exact");
    expect(matched("GET", "shop.example.com", "/api/x")).toBe("api-wild");
    expect(matched("GET", "a.b.example.com", "/api/x")).toBe("api-wild");
    expect(matched("GET", "x.eu.example.com", "/api/x")).toBe("api-deep-wild");
    expect(matched("GET", "example.com", "/api/x")).toBe("api-any");
    expect(matched("GET", "other.test", "/api/x")).toBe("api-any");
  });

  it("prefers a route that lists the method", () => {
    expect(matched("POST", "api.example.com", "/api")).toBe("api-exact-post");
    expect(matched("GET", "api.example.com", "/api")).toBe("api-exact");
  });

  it("falls back to a shorter prefix when the method is not allowed", () => {
    expect(matched("GET", "", "/admin/users")).toBe("admin-get");
    expect(matched("DELETE", "", "/admin/users")).toBe("root");
  });

  it("returns nothing when no route matches", () => {
    const strict = compileRouter([route("only", "/only", ["only.test"], ["GET"])]);
    expect(strict.match("GET", "", "/only")).toBeUndefined();
    expect(strict.match("GET", "only.test", "/other")).toBeUndefined();
    expect(strict.match("PUT", "only.test", "/only")).toBeUndefined();
    expect(compileRouter([]).match("GET", "", "/")).toBeUndefined();
  });

  it("routes traversal attempts by where they land once normalized", () => {
    const guarded = compileRouter([route("public", "/public"), route("admin", "/admin", [], ["GET"])]);
    const landing = normalizePath("/public/../admin/users");
    expect(landing).toBe("/admin/users");
    expect(guarded.match("GET", "", landing as string)?.id).toBe("admin");
    expect(guarded.match("POST", "", landing as string)).toBeUndefined();
  });
});
