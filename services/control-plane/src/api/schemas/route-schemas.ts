import { RouteDefinition } from "@tollgate/events";
import { z } from "zod";
import { Versioned } from "./common-schemas.js";

export const DefineRouteBody = z.strictObject({
  match: z.strictObject({
    pathPrefix: RouteDefinition.shape.match.shape.pathPrefix,
    hosts: RouteDefinition.shape.match.shape.hosts.default([]),
    methods: RouteDefinition.shape.match.shape.methods.default([]),
  }),
  upstream: RouteDefinition.shape.upstream,
  stripPrefix: RouteDefinition.shape.stripPrefix.default(false),
});

export const RouteView = z.object({ ...Versioned, ...RouteDefinition.shape, removed: z.boolean() });
export const RouteList = z.object({ items: z.array(RouteView) });
