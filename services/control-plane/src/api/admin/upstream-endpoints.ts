import type { ControlPlaneServices } from "../../application/control-plane-services.js";
import { defineEndpoint, type AnyEndpoint } from "../endpoint.js";
import { AsOfQuery, idParams } from "../schemas/common-schemas.js";
import { SetUpstreamTargetsBody, UpstreamList, UpstreamView } from "../schemas/upstream-schemas.js";
import { conflictResponses, readResponses, writeResponses } from "../standard-responses.js";

/**
 * Live target overrides of the upstreams the gateways declare in their config. The
 * control plane does not know that config: it checks the shape only, and a gateway
 * ignores (and logs) an override for an upstream it does not declare.
 */
export function upstreamEndpoints({ upstreams }: ControlPlaneServices): AnyEndpoint[] {
  const upstreamParams = idParams("name");
  return [
    defineEndpoint({
      method: "get",
      path: "/admin/upstreams",
      operationId: "listUpstreamOverrides",
      summary: "List the upstreams whose targets were set through the control plane (reset ones show targets: null)",
      tag: "upstreams",
      access: "admin:read",
      responses: { 200: { description: "The overrides", schema: UpstreamList }, ...readResponses },
      handle: () => Promise.resolve({ status: 200, body: { items: upstreams.list() } }),
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/upstreams/:name",
      operationId: "getUpstreamOverride",
      summary: "Read an upstream's target override, now or as of a past instant",
      tag: "upstreams",
      access: "admin:read",
      params: upstreamParams,
      query: AsOfQuery,
      responses: { 200: { description: "The override", schema: UpstreamView }, ...readResponses },
      handle: async ({ params, query }) => {
        const upstream = await upstreams.get(params.name, query.asOf ? new Date(query.asOf) : undefined);
        return { status: 200, body: upstream, etag: upstream.version };
      },
    }),
    defineEndpoint({
      method: "put",
      path: "/admin/upstreams/:name",
      operationId: "setUpstreamTargets",
      summary: "Replace an upstream's targets on every gateway, live (UpstreamTargetsSet; nothing when unchanged)",
      tag: "upstreams",
      access: "admin:write",
      params: upstreamParams,
      body: SetUpstreamTargetsBody,
      conditional: true,
      responses: { 200: { description: "The override", schema: UpstreamView }, ...writeResponses, ...conflictResponses },
      handle: async ({ params, body, actor, requestId, ifMatch }) => {
        const upstream = await upstreams.setTargets(params.name, body.targets, { actor, requestId, expectedRevision: ifMatch });
        return { status: 200, body: upstream, etag: upstream.version };
      },
    }),
    defineEndpoint({
      method: "delete",
      path: "/admin/upstreams/:name",
      operationId: "resetUpstreamTargets",
      summary: "Drop the override: the gateways go back to the targets in their config (UpstreamTargetsReset)",
      tag: "upstreams",
      access: "admin:write",
      params: upstreamParams,
      conditional: true,
      responses: { 200: { description: "The reset override", schema: UpstreamView }, ...writeResponses, ...conflictResponses },
      handle: async ({ params, actor, requestId, ifMatch }) => {
        const upstream = await upstreams.reset(params.name, { actor, requestId, expectedRevision: ifMatch });
        return { status: 200, body: upstream, etag: upstream.version };
      },
    }),
  ];
}
