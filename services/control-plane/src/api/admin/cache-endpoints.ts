import { CachePurgeService } from "../../application/cache-purge-service.js";
import type { ControlPlaneServices } from "../../application/control-plane-services.js";
import { defineEndpoint, type AnyEndpoint } from "../endpoint.js";
import { CachePurgeBody, CachePurgeReceipt } from "../schemas/cache-schemas.js";
import { writeResponses } from "../standard-responses.js";

/**
 * Purge of the gateways' response caches through the log, so that one call reaches every
 * gateway without knowing them (a gateway's own POST /cache/purge on its status port
 * reaches that gateway, or with Redis the shared cache). 202: the request is recorded;
 * each gateway applies it within its poll interval.
 */
export function cacheEndpoints({ context }: ControlPlaneServices): AnyEndpoint[] {
  const purges = new CachePurgeService(context);
  return [
    defineEndpoint({
      method: "post",
      path: "/admin/cache/purge",
      operationId: "purgeCache",
      summary: "Purge the response cache of every gateway by route, key prefix or both (CachePurgeRequested)",
      tag: "cache",
      access: "admin:write",
      body: CachePurgeBody,
      responses: { 202: { description: "The purge is recorded; the gateways apply it as they read it", schema: CachePurgeReceipt }, ...writeResponses },
      handle: async ({ body, actor, requestId }) => ({ status: 202, body: await purges.request(body, { actor, requestId }) }),
    }),
  ];
}
