import { describe, expect, it } from "vitest";
import { cacheKey, hasHeader, normalizeQuery } from "./cache-key.js";

describe("cacheKey", () => {
  it("is host (lower-case, no port, no trailing dot), path and sorted query", () => {
    expect(cacheKey("API.Example.com:8443", "/products/42", "?size=m&color=red", [], [], undefined)).toBe("api.example.com/products/42?color=red&size=m");
    expect(cacheKey("api.example.com.", "/p", "", [], [], undefined)).toBe("api.example.com/p");
    expect(cacheKey("[::1]:8080", "/p", "", [], [], undefined)).toBe("[::1]/p");
  });

  it("appends the route's vary headers, all of their values, absent ones as empty", () => {
    const headers = ["Accept", "application/json", "accept-language", "de", "Accept-Language", "en"];
    expect(cacheKey("h", "/p", "", ["accept", "accept-language", "x-tenant"], headers, undefined)).toBe(
      "h/p\naccept=application/json\naccept-language=de, en\nx-tenant=",
    );
  });

  it("appends the consumer on private routes, and a marker for an anonymous one", () => {
    expect(cacheKey("h", "/me", "", [], [], "consumer-7")).toBe("h/me\n@consumer-7");
    expect(cacheKey("h", "/me", "", [], [], null)).toBe("h/me\n@");
    expect(cacheKey("h", "/me", "", [], [], "a")).not.toBe(cacheKey("h", "/me", "", [], [], "b"));
  });
});

describe("normalizeQuery", () => {
  it("sorts by name, keeps the order of repeated names and the encoding, drops empty parameters", () => {
    expect(normalizeQuery("")).toBe("");
    expect(normalizeQuery("?")).toBe("");
    expect(normalizeQuery("?only=1")).toBe("?only=1");
    expect(normalizeQuery("?b=2&a=1&c")).toBe("?a=1&b=2&c");
    expect(normalizeQuery("?tag=z&x=1&tag=a")).toBe("?tag=z&tag=a&x=1");
    expect(normalizeQuery("?q=a%20b&&p=1&")).toBe("?p=1&q=a%20b");
  });
});

describe("hasHeader", () => {
  it("matches names case-insensitively", () => {
    expect(hasHeader(["Authorization", "Bearer x"], "authorization")).toBe(true);
    expect(hasHeader(["x-authorization", "y"], "authorization")).toBe(false);
  });
});
