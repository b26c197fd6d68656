import type { ControlPlaneServices } from "../../application/control-plane-services.js";
import { defineEndpoint, type AnyEndpoint } from "../endpoint.js";
import { AsOfQuery, idParams } from "../schemas/common-schemas.js";
import { DefineRouteBody, RouteList, RouteView } from "../schemas/route-schemas.js";
import { conflictResponses, readResponses, writeResponses } from "../standard-responses.js";

export function routeEndpoints({ routes }: ControlPlaneServices): AnyEndpoint[] {
  const routeParams = idParams("routeId");
  return [
    defineEndpoint({
      method: "get",
      path: "/admin/routes",
      operationId: "listRoutes",
      summary: "List routes defined in the control plane",
      tag: "routes",
      access: "admin:read",
      responses: { 200: { description: "The routes", schema: RouteList }, ...readResponses },
      handle: () => Promise.resolve({ status: 200, body: { items: routes.list() } }),
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/routes/:routeId",
      operationId: "getRoute",
      summary: "Read a route, now or as of a past instant",
      tag: "routes",
      access: "admin:read",
      params: routeParams,
      query: AsOfQuery,
      responses: { 200: { description: "The route", schema: RouteView }, ...readResponses },
      handle: async ({ params, query }) => {
        const route = await routes.get(params.routeId, query.asOf ? new Date(query.asOf) : undefined);
        return { status: 200, body: route, etag: route.version };
      },
    }),
    defineEndpoint({
      method: "put",
      path: "/admin/routes/:routeId",
      operationId: "defineRoute",
      summary: "Define a route or replace its definition (RouteDefined; nothing when unchanged)",
      tag: "routes",
      access: "admin:write",
      params: routeParams,
      body: DefineRouteBody,
      conditional: true,
      responses: { 200: { description: "The route", schema: RouteView }, ...writeResponses, ...conflictResponses },
      handle: async ({ params, body, actor, requestId, ifMatch }) => {
        const route = await routes.define(params.routeId, body, { actor, requestId, expectedRevision: ifMatch });
        return { status: 200, body: route, etag: route.version };
      },
    }),
    defineEndpoint({
      method: "delete",
      path: "/admin/routes/:routeId",
      operationId: "removeRoute",
      summary: "Remove a route (RouteRemoved)",
      tag: "routes",
      access: "admin:write",
      params: routeParams,
      conditional: true,
      responses: { 200: { description: "The removed route", schema: RouteView }, ...writeResponses, ...conflictResponses },
      handle: async ({ params, actor, requestId, ifMatch }) => {
        const route = await routes.remove(params.routeId, { actor, requestId, expectedRevision: ifMatch });
        return { status: 200, body: route, etag: route.version };
      },
    }),
  ];
}
