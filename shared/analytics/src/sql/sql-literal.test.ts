import { describe, expect, it } from "vitest";
import { safeTextPattern, sqlIdentifier, sqlList, sqlLiteral, UnsafeSqlValueError } from "./sql-literal.js";

const injections = [
  "' OR 1=1 --",
  "x'; DROP TABLE requests; --",
  "a\\' OR 1=1",
  "\\",
  "a b",
  "demo\n",
  "demo\u0000",
  "'",
  "\"",
  "`id`",
  "1; SELECT 1",
  "demo) OR (1=1",
  "ｄｅｍｏ",
  "",
  "a".repeat(201),
];

describe("sqlLiteral.security", () => {
  it.each(injections)("refuses %j", (value) => {
    expect(() => sqlLiteral(value)).toThrow(UnsafeSqlValueError);
  });

  it("refuses numbers that could not be written as plain literals", () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, -Infinity, 2 ** 60, 1e-9, 1.5e300]) {
      expect(() => sqlLiteral(value)).toThrow(UnsafeSqlValueError);
    }
  });

  it("refuses values of other types that slip past the type system", () => {
    for (const value of [null, undefined, {}, [], true] as unknown[]) {
      expect(() => sqlLiteral(value as string)).toThrow(UnsafeSqlValueError);
    }
  });

  it("refuses identifiers that are not plain names", () => {
    expect(() => sqlIdentifier("requests; DROP")).toThrow(UnsafeSqlValueError);
    expect(() => sqlIdentifier("a.b")).toThrow(UnsafeSqlValueError);
    expect(sqlIdentifier("tollgate_analytics")).toBe("tollgate_analytics");
  });
});

describe("sqlLiteral.happy", () => {
  it("quotes ids, paths and emails", () => {
    expect(sqlLiteral("demo")).toBe("'demo'");
    expect(sqlLiteral("gold-plan_2.v1")).toBe("'gold-plan_2.v1'");
    expect(sqlLiteral("/demo/hello")).toBe("'/demo/hello'");
    expect(sqlLiteral("a@b.c:1")).toBe("'a@b.c:1'");
  });

  it("writes numbers and bigints as plain literals", () => {
    expect(sqlLiteral(42)).toBe("42");
    expect(sqlLiteral(-7)).toBe("-7");
    expect(sqlLiteral(0.25)).toBe("0.25");
    expect(sqlLiteral(12345678901234567890n)).toBe("12345678901234567890");
  });

  it("writes IN lists", () => {
    expect(sqlList(["a", 1])).toBe("('a', 1)");
    expect(() => sqlList([])).toThrow(UnsafeSqlValueError);
  });

  it("never lets a quote, a backslash or whitespace through the text pattern", () => {
    for (const char of ["'", "\\", " ", "\t", "\n", ";", "(", ")", "*", "=", "\"", "`", "#"]) {
      expect(safeTextPattern.test(`a${char}b`)).toBe(false);
    }
  });
});
