import { z } from "zod";
import type { AnyEndpoint, EndpointAccess } from "./endpoint.js";

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

type JsonSchema = Record<string, unknown>;

const securityOf: Record<EndpointAccess, Record<string, string[]>[]> = {
  "admin:read": [{ adminToken: [] }],
  "admin:write": [{ adminToken: [] }],
  consumer: [{ consumerApiKey: [] }, { consumerApiKeyHeader: [] }],
  public: [],
};

/**
 * The OpenAPI 3.1 document, generated from the same endpoint declarations the router is
 * mounted from, with every schema produced by zod's JSON Schema export (draft 2020-12,
 * which OpenAPI 3.1 uses as is). Request schemas are exported as input (defaults make
 * fields optional), response schemas as output.
 */
export function buildOpenApiDocument(endpoints: readonly AnyEndpoint[], info: OpenApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const endpoint of endpoints) {
    const path = endpoint.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
    const parameters = [
      ...objectParameters(endpoint.params, "path"),
      ...objectParameters(endpoint.query, "query"),
      ...(endpoint.conditional
        ? [
            {
              name: "If-Match",
              in: "header",
              required: false,
              description: 'The entity version the change is based on, e.g. "3"; a different current version gets 409 version-conflict',
              schema: { type: "string" },
            },
          ]
        : []),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(endpoint.responses)) {
      const isProblem = Number(status) >= 400;
      const contentType = isProblem ? "application/problem+json" : "application/json";
      responses[status] = {
        description: response.description,
        ...(response.schema ? { content: { [contentType]: { schema: toSchema(response.schema, "output") } } } : {}),
      };
    }
    (paths[path] ??= {})[endpoint.method] = {
      operationId: endpoint.operationId,
      summary: endpoint.summary,
      tags: [endpoint.tag],
      security: securityOf[endpoint.access],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(endpoint.body
        ? { requestBody: { required: true, content: { "application/json": { schema: toSchema(endpoint.body, "input") } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info,
    paths,
    components: {
      securitySchemes: {
        adminToken: { type: "http", scheme: "bearer", description: "An admin token from the control plane's config (read or write access)" },
        consumerApiKey: { type: "http", scheme: "bearer", description: "One of the consumer's own API keys" },
        consumerApiKeyHeader: { type: "apiKey", in: "header", name: "X-Api-Key", description: "One of the consumer's own API keys" },
      },
    },
  };
}

function objectParameters(schema: z.ZodType | undefined, location: "path" | "query"): JsonSchema[] {
  if (!schema) return [];
  const json = toSchema(schema, "input");
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === "path" || required.has(name),
    ...(typeof property.description === "string" ? { description: property.description } : {}),
    schema: property,
  }));
}

function toSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
  return json;
}
