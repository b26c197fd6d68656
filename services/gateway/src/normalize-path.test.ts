import { describe, expect, it } from "vitest";
import { normalizePath, PathRejection, pathRejections } from "./normalize-path.js";

describe("normalizePath", () => {
  it.each([
    ["/", "/"],
    ["/demo", "/demo"],
    ["/demo/", "/demo/"],
    ["/a//b", "/a//b"],
    ["/a/./b", "/a/b"],
    ["/a/b/../c", "/a/c"],
    ["/a/b/..", "/a/"],
    ["/a/.", "/a/"],
    ["/a/b/./../c/.", "/a/c/"],
    ["/a/..", "/"],
    ["/.well-known/x", "/.well-known/x"],
    ["/a/.hidden/..x", "/a/.hidden/..x"],
    ["/%7Euser/%41%62c", "/~user/Abc"],
    ["/caf%c3%a9", "/caf%C3%A9"],
    ["/a%20b", "/a%20b"],
    ["/%252F", "/%252F"],
    ["/a/%2e/b", "/a/b"],
    ["/a/b/%2E%2E/c", "/a/c"],
    ["/a;v=1/b", "/a;v=1/b"],
  ])("normalizes %s to %s", (raw, expected) => {
    expect(normalizePath(raw)).toBe(expected);
  });

  it("returns the same string when nothing needs normalizing", () => {
    const raw = "/demo/items/42";
    expect(normalizePath(raw)).toBe(raw);
  });

  describe("traversal attempts", () => {
    it.each([
      ["/..", pathRejections.aboveRoot],
      ["/../etc/passwd", pathRejections.aboveRoot],
      ["/demo/../../admin", pathRejections.aboveRoot],
      ["/%2e%2e/admin", pathRejections.aboveRoot],
      ["/demo/%2E%2E/%2e%2E/admin", pathRejections.aboveRoot],
      ["/.%2e/admin", pathRejections.aboveRoot],
      ["/demo%2F..%2Fadmin", pathRejections.encodedSeparator],
      ["/demo%2f..%2fadmin", pathRejections.encodedSeparator],
      ["/demo/..%5Cadmin", pathRejections.encodedSeparator],
      ["/demo/%00", pathRejections.encodedSeparator],
      ["/demo\\..\\admin", pathRejections.backslash],
      ["/public/..;/admin", pathRejections.dotSegmentParameters],
      ["/public/.;/admin", pathRejections.dotSegmentParameters],
      ["/demo/%zz", pathRejections.malformedEscape],
      ["/demo/%2", pathRejections.malformedEscape],
      ["/demo/%", pathRejections.malformedEscape],
      ["/demo/\u00e9", pathRejections.invalidCharacter],
      ["/demo x", pathRejections.invalidCharacter],
      ["demo", pathRejections.notOriginForm],
      ["", pathRejections.notOriginForm],
      ["*", pathRejections.notOriginForm],
    ])("refuses %j", (raw, rejection) => {
      const result = normalizePath(raw);
      expect(result).toBeInstanceOf(PathRejection);
      expect(result).toBe(rejection);
    });

    it("keeps a traversal that stays inside the root, so the router sees where it lands", () => {
      expect(normalizePath("/demo/../admin")).toBe("/admin");
      expect(normalizePath("/demo/%2e%2e/admin")).toBe("/admin");
    });
  });
});
