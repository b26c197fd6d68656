import { describe, expect, it } from "vitest";
import { GraphqlRequestError, readJsonGraphqlRequest, readQueryStringGraphqlRequest } from "./graphql-request.js";

const hash = "a".repeat(64);

describe("reading GraphQL requests", () => {
  it("reads query, operationName and the persisted-query hash from a JSON body, never the variables", () => {
    const body = Buffer.from(JSON.stringify({ query: "{ a }", operationName: "Op", variables: { secret: "x" }, extensions: { persistedQuery: { version: 1, sha256Hash: hash.toUpperCase() } } }));
    expect(readJsonGraphqlRequest(body)).toEqual({ query: "{ a }", operationName: "Op", persistedHash: hash });
    expect(readJsonGraphqlRequest(Buffer.from('{"query":"{ a }","operationName":""}'))).toEqual({ query: "{ a }", operationName: null, persistedHash: null });
  });

  it("refuses bodies that are not one GraphQL request", () => {
    expect(() => readJsonGraphqlRequest(Buffer.from("{"))).toThrow(GraphqlRequestError);
    expect(() => readJsonGraphqlRequest(Buffer.from('[{"query":"{ a }"}]'))).toThrow(/batched/);
    expect(() => readJsonGraphqlRequest(Buffer.from('"{ a }"'))).toThrow(/JSON object/);
    expect(() => readJsonGraphqlRequest(Buffer.from('{"query":42}'))).toThrow(/`query` must be a string/);
    expect(() => readJsonGraphqlRequest(Buffer.from('{"extensions":{"persistedQuery":{"sha256Hash":"xyz"}}}'))).toThrow(/sha256Hash/);
  });

  it("reads GET parameters", () => {
    const search = `?query=${encodeURIComponent("query Q { a }")}&operationName=Q&extensions=${encodeURIComponent(JSON.stringify({ persistedQuery: { sha256Hash: hash } }))}`;
    expect(readQueryStringGraphqlRequest(search)).toEqual({ query: "query Q { a }", operationName: "Q", persistedHash: hash });
    expect(readQueryStringGraphqlRequest("")).toEqual({ query: null, operationName: null, persistedHash: null });
    expect(() => readQueryStringGraphqlRequest("?extensions=%7B")).toThrow(/extensions/);
  });
});
