import { describe, expect, it } from "vitest";
import { analyseOperation, GraphqlDocumentError, maxVisitedSelections } from "./graphql-operation-analysis.js";

const options = { maxTokens: 10_000, stopAt: {} };

describe("analyseOperation", () => {
  it("names the operation and its type, and measures depth, aliases and fields", () => {
    const result = analyseOperation("query GetOrder { order(id: 1) { id total: amount customer { name } } }", null, options);
    expect(result).toEqual({ operationName: "GetOrder", operationType: "query", depth: 3, aliases: 1, complexity: 5, introspection: false });
  });

  it("reports an anonymous operation with a null name, and mutations and subscriptions by type", () => {
    expect(analyseOperation("{ a }", null, options)).toMatchObject({ operationName: null, operationType: "query", depth: 1 });
    expect(analyseOperation("mutation Pay { pay { ok } }", null, options)).toMatchObject({ operationName: "Pay", operationType: "mutation" });
    expect(analyseOperation("subscription Ticks { tick }", null, options)).toMatchObject({ operationType: "subscription" });
  });

  it("measures the operation named by operationName, and refuses an ambiguous or unknown one", () => {
    const document = "query A { a } query B { b { c { d } } }";
    expect(analyseOperation(document, "B", options)).toMatchObject({ operationName: "B", depth: 3 });
    expect(() => analyseOperation(document, null, options)).toThrow(/several operations/);
    expect(() => analyseOperation(document, "C", options)).toThrow(/no operation named "C"/);
    expect(() => analyseOperation("fragment F on Q { a }", null, options)).toThrow(/no operation/);
  });

  it("expands fragments and inline fragments at every spread", () => {
    const document = `
      query Deep { a { ...F } b { ...F } }
      fragment F on T { x { y { ... on Y { z } } } w: v }
    `;
    // a/b (1) > x (2) > y (3) > z (4); F has x, y, z, v = 4 fields, spread twice, plus a and b.
    expect(analyseOperation(document, null, options)).toMatchObject({ depth: 4, complexity: 10, aliases: 2 });
  });

  it("flags __schema and __type as introspection, not __typename", () => {
    expect(analyseOperation("{ __typename a { __typename } }", null, options).introspection).toBe(false);
    expect(analyseOperation("query IntrospectionQuery { __schema { types { name } } }", null, options).introspection).toBe(true);
    expect(analyseOperation('{ __type(name: "Order") { name } }', null, options).introspection).toBe(true);
    expect(analyseOperation("{ a { ...I } } fragment I on A { __schema { queryType { name } } }", null, options).introspection).toBe(true);
  });

  it("stops at a cyclic fragment instead of looping (the upstream refuses the cycle itself)", () => {
    const result = analyseOperation("{ a { ...F } } fragment F on A { b { ...F } }", null, options);
    expect(result.depth).toBe(2);
  });

  it("refuses what is not GraphQL, and a document over maxTokens", () => {
    expect(() => analyseOperation("{ a ", null, options)).toThrow(GraphqlDocumentError);
    expect(() => analyseOperation("not graphql at all", null, options)).toThrow(GraphqlDocumentError);
    expect(() => analyseOperation(`{ ${"a ".repeat(200)} }`, null, { maxTokens: 100, stopAt: {} })).toThrow(/more that 100 tokens|100 tokens/);
  });

  it("stops measuring a fragment bomb at the limit it breaks, in bounded time", () => {
    const levels = 30;
    const fragments = Array.from({ length: levels }, (_, level) => `fragment F${level} on Q { ${level === levels - 1 ? "leaf" : `...F${level + 1} ...F${level + 1}`} }`);
    const document = `{ root { ...F0 } } ${fragments.join(" ")}`;
    const started = performance.now();
    const measured = analyseOperation(document, null, { maxTokens: 10_000, stopAt: { complexity: 1_000 } });
    expect(measured.complexity).toBeGreaterThan(1_000);
    expect(() => analyseOperation(document, null, options)).toThrow(new RegExp(`more than ${maxVisitedSelections} selections`));
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
