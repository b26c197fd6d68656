import { ConfigError, parseConfig } from "@tollgate/config";
import { describe, expect, it } from "vitest";
import { GatewayConfig } from "../config/gateway-config.js";

function problems(raw: unknown): readonly string[] {
  try {
    parseConfig(GatewayConfig, raw, "test");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

const upstreams = { demo: { targets: ["http://127.0.0.1:9000"] } };

describe("cache configuration", () => {
  it("defaults: a memory store of 64 MiB, purge disabled; a route's cache on with no default TTL", () => {
    const config = parseConfig(GatewayConfig, { upstreams, routes: [{ id: "a", match: { pathPrefix: "/a" }, upstream: "demo", cache: {} }] });
    expect(config.cache).toEqual({ store: "memory", maxBytes: 67_108_864, keyPrefix: "tollgate:cache:", adminToken: null });
    expect(config.routes[0]?.cache).toEqual({
      enabled: true,
      ttlSeconds: 0,
      vary: [],
      private: false,
      allowSetCookie: false,
      maxEntryBytes: 1_048_576,
      staleWhileRevalidateSeconds: 0,
      staleIfErrorSeconds: 0,
    });
  });

  it("lower-cases vary header names", () => {
    const config = parseConfig(GatewayConfig, { upstreams, routes: [{ id: "a", match: { pathPrefix: "/a" }, upstream: "demo", cache: { vary: ["Accept-Encoding"] } }] });
    expect(config.routes[0]?.cache?.vary).toEqual(["accept-encoding"]);
  });

  it("lists every cache problem with its path and reason", () => {
    expect(
      [
        ...problems({
          cache: { store: "redis", adminToken: "short" },
          upstreams,
          routes: [{ id: "a", match: { pathPrefix: "/a" }, upstream: "demo", cache: { vary: ["bad header"], ttlSeconds: -1, maxEntryBytes: 0, stale: 1 } }],
        }),
      ].sort(),
    ).toEqual([
      'cache.redis: store "redis" needs redis.url',
      "cache.adminToken: use at least 16 characters",
      "routes[0].cache.maxEntryBytes: Too small: expected number to be >=1",
      "routes[0].cache.stale: unknown field",
      "routes[0].cache.ttlSeconds: Too small: expected number to be >=0",
      "routes[0].cache.vary[0]: expected an HTTP header name",
    ].sort());
  });

  it("refuses a private cache on a route without auth", () => {
    expect(problems({ upstreams, routes: [{ id: "b", match: { pathPrefix: "/b" }, upstream: "demo", cache: { private: true } }] })).toEqual([
      "routes[0].cache.private: private needs auth: entries are keyed by consumer",
    ]);
  });
});
