/**
 * The parts of a GraphQL-over-HTTP request the gateway reads: the query document, the
 * operation name and the persisted-query hash (Apollo's automatic persisted queries:
 * `extensions.persistedQuery.sha256Hash`). Variables are never read; they go upstream
 * untouched.
 */
export interface GraphqlRequest {
  /** The query document; null for a hash-only persisted query. */
  readonly query: string | null;
  readonly operationName: string | null;
  readonly persistedHash: string | null;
}

/** Why the request does not carry a GraphQL request the gateway can read. */
export class GraphqlRequestError extends Error {}

/** POST with a JSON body `{ query, operationName, variables, extensions }`. Batched (array) bodies are refused. */
export function readJsonGraphqlRequest(body: Buffer): GraphqlRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new GraphqlRequestError("the body is not valid JSON");
  }
  if (Array.isArray(parsed)) throw new GraphqlRequestError("batched GraphQL requests (a JSON array) are not accepted");
  if (parsed === null || typeof parsed !== "object") throw new GraphqlRequestError("the body must be a JSON object with a `query`");
  const record = parsed as Record<string, unknown>;
  return {
    query: optionalString(record.query, "query"),
    operationName: optionalString(record.operationName, "operationName"),
    persistedHash: persistedHashOf(record.extensions),
  };
}

/** GET with `?query=…&operationName=…&extensions=…` (GraphQL over HTTP, GET). */
export function readQueryStringGraphqlRequest(search: string): GraphqlRequest {
  const params = new URLSearchParams(search.startsWith("?") ? search.slice(1) : search);
  const extensions = params.get("extensions");
  let parsedExtensions: unknown = undefined;
  if (extensions !== null) {
    try {
      parsedExtensions = JSON.parse(extensions);
    } catch {
      throw new GraphqlRequestError("the `extensions` parameter is not valid JSON");
    }
  }
  return { query: params.get("query"), operationName: nonEmpty(params.get("operationName")), persistedHash: persistedHashOf(parsedExtensions) };
}

function optionalString(value: unknown, name: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw new GraphqlRequestError(`\`${name}\` must be a string`);
  return name === "operationName" ? nonEmpty(value) : value;
}

function nonEmpty(value: string | null): string | null {
  return value === null || value === "" ? null : value;
}

function persistedHashOf(extensions: unknown): string | null {
  if (extensions === undefined || extensions === null) return null;
  if (typeof extensions !== "object") throw new GraphqlRequestError("`extensions` must be an object");
  const persisted = (extensions as Record<string, unknown>).persistedQuery;
  if (persisted === undefined || persisted === null) return null;
  const hash = (persisted as Record<string, unknown>).sha256Hash;
  if (typeof hash !== "string" || !/^[a-fA-F0-9]{64}$/.test(hash)) throw new GraphqlRequestError("`extensions.persistedQuery.sha256Hash` must be a hex SHA-256 digest");
  return hash.toLowerCase();
}
