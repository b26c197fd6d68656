import { z } from "zod";

const sha256Hex = z.string().regex(/^[a-f0-9]{64}$/, "expected a lower-case hex SHA-256 digest (64 characters)");
const planId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, "expected a plan id");

export const PersistedQueriesConfig = z.strictObject({
  allowList: z
    .array(sha256Hex)
    .max(100_000)
    .default([])
    .describe("SHA-256 digests (hex) of the query documents the route knows; a request's extensions.persistedQuery.sha256Hash must be one of them"),
  onlyAllowListed: z
    .boolean()
    .default(false)
    .describe("Refuse (400) every query whose document is not on the allow-list; false: the list only lets hash-only requests through"),
});

/**
 * `graphql` on a route: the GraphQL-aware policy. The query is parsed at the gateway
 * (graphql-js), its operation recorded in the request's event, and a query over a limit
 * is refused with 400 before it reaches the upstream.
 */
export const RouteGraphqlConfig = z.strictObject({
  maxDepth: z.number().int().min(1).max(1_000).default(10).describe("Deepest field nesting a query may have, fragments expanded (`{ a { b } }` is 2)"),
  maxAliases: z.number().int().min(0).max(10_000).default(30).describe("Most aliased fields in one operation, fragments expanded (alias batching)"),
  maxComplexity: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .describe("Most fields one operation may select, fragments expanded at each spread; absent: no complexity limit"),
  maxTokens: z
    .number()
    .int()
    .min(100)
    .max(1_000_000)
    .default(10_000)
    .describe("Most lexical tokens the parser reads before giving up: bounds the work a hostile document can cause before any limit is checked"),
  maxBodyBytes: z
    .number()
    .int()
    .min(1_024)
    .max(16 * 1024 * 1024)
    .default(1_048_576)
    .describe("Largest POST body read to find the query; larger gets 413. The body is held in memory until it is checked"),
  blockIntrospection: z
    .union([z.boolean(), z.strictObject({ plans: z.array(planId).min(1).describe("Plans whose callers may not introspect") })])
    .default(false)
    .describe("Refuse introspection (__schema, __type): true for every caller, { plans: [...] } for the callers on those plans, false (default) for none"),
  persistedQueries: PersistedQueriesConfig.optional().describe("An optional allow-list of persisted queries, by the SHA-256 of their document"),
});

export type RouteGraphqlConfig = z.output<typeof RouteGraphqlConfig>;
