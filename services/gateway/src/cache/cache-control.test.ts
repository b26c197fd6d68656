import { describe, expect, it } from "vitest";
import { parseCacheControl } from "./cache-control.js";

describe("parseCacheControl", () => {
  it("reads the directives a shared cache acts on, case-insensitively", () => {
    expect(parseCacheControl("Public, MAX-AGE=60, s-maxage=300, stale-while-revalidate=30, stale-if-error=600")).toEqual({
      noStore: false,
      noCache: false,
      private: false,
      public: true,
      mustRevalidate: false,
      maxAge: 60,
      sMaxAge: 300,
      staleWhileRevalidate: 30,
      staleIfError: 600,
    });
    expect(parseCacheControl("no-store")).toMatchObject({ noStore: true });
    expect(parseCacheControl("proxy-revalidate")).toMatchObject({ mustRevalidate: true });
    expect(parseCacheControl("must-revalidate")).toMatchObject({ mustRevalidate: true });
  });

  it("keeps commas inside quoted field lists out of the split", () => {
    expect(parseCacheControl('private="set-cookie, x-user", max-age=10')).toMatchObject({ private: true, maxAge: 10 });
    expect(parseCacheControl('no-cache="set-cookie"')).toMatchObject({ noCache: true });
  });

  it("takes a quoted delta-seconds, and treats an invalid one as 0 (stale), never as forever", () => {
    expect(parseCacheControl('max-age="120"').maxAge).toBe(120);
    expect(parseCacheControl("max-age=abc").maxAge).toBe(0);
    expect(parseCacheControl("max-age=-5").maxAge).toBe(0);
    expect(parseCacheControl("max-age").maxAge).toBe(0);
  });

  it("caps huge values at 2^31 (RFC 9111 1.2.2) and ignores unknown directives and empty parts", () => {
    expect(parseCacheControl("max-age=99999999999999999999, immutable, , foo=bar").maxAge).toBe(2_147_483_648);
    expect(parseCacheControl("")).toMatchObject({ maxAge: undefined, sMaxAge: undefined, noStore: false });
  });
});
