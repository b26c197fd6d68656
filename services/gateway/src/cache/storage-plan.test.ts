import { describe, expect, it } from "vitest";
import { RouteCacheConfig } from "./cache-config.js";
import { entryFromPlan, planStorage, type StoragePlan } from "./storage-plan.js";

const route = RouteCacheConfig.parse({});

function plan(status: number, headers: string[], config = route, authorization = false): StoragePlan | string {
  // As relayed: the gateway's x-request-id comes after the upstream's headers.
  return planStorage(status, [...headers, "x-request-id", "r1"], headers.length, config, authorization);
}

describe("planStorage", () => {
  it("prefers s-maxage to max-age, subtracts the upstream's Age, and keeps the stale windows", () => {
    const result = plan(200, ["cache-control", "max-age=10, s-maxage=60, stale-while-revalidate=5, stale-if-error=100", "age", "20", "X-Cache", "HIT", "content-type", "text/plain"]);
    expect(result).toMatchObject({ status: 200, initialAgeSeconds: 20, freshMs: 40_000, staleWhileRevalidateMs: 5_000, staleIfErrorMs: 100_000 });
    // Age, an upstream X-Cache and the gateway's own headers are not stored; the rest is.
    expect((result as StoragePlan).headers).toEqual(["cache-control", "max-age=10, s-maxage=60, stale-while-revalidate=5, stale-if-error=100", "content-type", "text/plain"]);
  });

  it("joins repeated Cache-Control lines", () => {
    expect(plan(200, ["cache-control", "max-age=10", "Cache-Control", "no-store"])).toBe("Cache-Control: no-store");
  });

  it("uses the route's ttlSeconds and stale defaults only when the response has none of its own", () => {
    const config = RouteCacheConfig.parse({ ttlSeconds: 30, staleWhileRevalidateSeconds: 7, staleIfErrorSeconds: 9 });
    expect(plan(200, [], config)).toMatchObject({ freshMs: 30_000, staleWhileRevalidateMs: 7_000, staleIfErrorMs: 9_000 });
    expect(plan(200, ["cache-control", "max-age=5, stale-if-error=1"], config)).toMatchObject({ freshMs: 5_000, staleWhileRevalidateMs: 7_000, staleIfErrorMs: 1_000 });
    expect(plan(200, [])).toBe("no freshness: neither s-maxage nor max-age, and the route has no ttlSeconds");
  });

  it("stores only the heuristically cacheable statuses", () => {
    const cacheable = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501];
    for (const status of cacheable) expect(typeof plan(status, ["cache-control", "max-age=5"])).toBe("object");
    for (const status of [201, 202, 206, 302, 304, 307, 400, 401, 403, 429, 500, 502, 503, 504]) {
      expect(plan(status, ["cache-control", "max-age=5"])).toBe(`status ${status} is not cacheable`);
    }
  });

  it("refuses what a shared cache must not store", () => {
    expect(plan(200, ["cache-control", "private, max-age=5"])).toBe("Cache-Control: private");
    expect(plan(200, ["cache-control", "no-cache, max-age=5"])).toBe("Cache-Control: no-cache");
    expect(plan(200, ["cache-control", "max-age=5", "Set-Cookie", "a=b"])).toBe("the response sets a cookie");
    expect(plan(200, ["cache-control", "max-age=5", "vary", "*"])).toBe("Vary: *");
    expect(plan(200, ["cache-control", "max-age=5", "vary", "Accept"])).toBe("Vary: accept, which is not in the route's cache.vary");
    expect(plan(200, ["cache-control", "max-age=5", "content-length", String(2 * 1_048_576)])).toBe("the body is larger than maxEntryBytes (1048576)");
    expect(plan(200, ["cache-control", "max-age=0"])).toBe("already stale, and may not be served stale");
  });

  it("allows Set-Cookie and Vary when the route says so", () => {
    const config = RouteCacheConfig.parse({ allowSetCookie: true, vary: ["Accept"] });
    expect(typeof plan(200, ["cache-control", "max-age=5", "set-cookie", "a=b", "vary", "accept"], config)).toBe("object");
  });

  it("stores a response to a request with Authorization only when it says it may be shared (RFC 9111 3.5)", () => {
    expect(plan(200, ["cache-control", "max-age=5"], route, true)).toMatch(/Authorization/);
    expect(typeof plan(200, ["cache-control", "public, max-age=5"], route, true)).toBe("object");
    expect(typeof plan(200, ["cache-control", "s-maxage=5"], route, true)).toBe("object");
  });

  it("never serves must-revalidate responses stale", () => {
    expect(plan(200, ["cache-control", "max-age=5, must-revalidate, stale-if-error=60, stale-while-revalidate=60"])).toMatchObject({
      staleWhileRevalidateMs: 0,
      staleIfErrorMs: 0,
    });
  });
});

describe("entryFromPlan", () => {
  it("adds the stored body's Content-Length (none on 204) and the windows from the storage time", () => {
    const result = plan(200, ["cache-control", "max-age=10, stale-while-revalidate=5, stale-if-error=20"]) as StoragePlan;
    const entry = entryFromPlan(result, Buffer.from("hello"), 1_000);
    expect(entry).toMatchObject({ status: 200, storedAt: 1_000, freshUntil: 11_000, staleWhileRevalidateUntil: 16_000, staleIfErrorUntil: 31_000 });
    expect(entry.headers).toEqual(["cache-control", "max-age=10, stale-while-revalidate=5, stale-if-error=20", "content-length", "5"]);
    const empty = entryFromPlan(plan(204, ["cache-control", "max-age=10"]) as StoragePlan, Buffer.alloc(0), 0);
    expect(empty.headers).toEqual(["cache-control", "max-age=10"]);
  });
});
