import type { Actor } from "@tollgate/events";
import type { z } from "zod";

/**
 * Who may call an endpoint: an admin token with read or write access, or a consumer
 * with its own API key; `public` needs nothing.
 */
export type EndpointAccess = "admin:read" | "admin:write" | "consumer" | "public";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

export interface EndpointRequest<Params, Query, Body> {
  params: Params;
  query: Query;
  body: Body;
  /** Who is calling: recorded on every event the request causes. */
  actor: Actor;
  /** The calling consumer for `consumer` endpoints; null otherwise. */
  consumerId: string | null;
  /** The entity version from If-Match, when the client sent one. */
  ifMatch: number | undefined;
  requestId: string;
}

export interface EndpointResult {
  status: number;
  body: unknown;
  /** The entity version, sent as the ETag. */
  etag?: number;
}

export interface EndpointResponseSpec {
  description: string;
  schema?: z.ZodType;
}

type AnyObjectSchema = z.ZodType<Record<string, unknown>>;

/**
 * One HTTP operation, declared once: the router is mounted from it and the OpenAPI
 * document is generated from it, so the two cannot drift. `params`, `query` and `body`
 * are validated before `handle` runs; a request that fails gets 400 with every issue
 * listed by path.
 */
export interface Endpoint<
  P extends AnyObjectSchema = AnyObjectSchema,
  Q extends AnyObjectSchema = AnyObjectSchema,
  B extends z.ZodType = z.ZodType,
> {
  method: HttpMethod;
  /** Express syntax: `/admin/plans/:planId`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  access: EndpointAccess;
  params?: P;
  query?: Q;
  body?: B;
  /** Whether the endpoint honours If-Match (documented in OpenAPI). */
  conditional?: boolean;
  responses: Record<number, EndpointResponseSpec>;
  handle(request: EndpointRequest<z.output<P>, z.output<Q>, z.output<B>>): Promise<EndpointResult>;
}

/** An endpoint with its schema types erased, so that endpoints of different shapes share one list. */
export type AnyEndpoint = Endpoint<AnyObjectSchema, AnyObjectSchema, z.ZodType>;

/** Infers the schema types of one endpoint declaration. */
export function defineEndpoint<P extends AnyObjectSchema, Q extends AnyObjectSchema, B extends z.ZodType>(
  endpoint: Endpoint<P, Q, B>,
): AnyEndpoint {
  return endpoint;
}
