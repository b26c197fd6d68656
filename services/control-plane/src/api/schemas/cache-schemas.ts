import { CachePurgeFilter, cachePurgeFilterMessage, EntityId, namesCachePurgeFilter } from "@tollgate/events";
import { z } from "zod";
import { isoTime } from "./common-schemas.js";

export const CachePurgeBody = z.strictObject(CachePurgeFilter.shape).refine(namesCachePurgeFilter, cachePurgeFilterMessage);

export const CachePurgeReceipt = z.object({
  purgeId: EntityId.describe("Names this purge in the gateways' logs (`cache purge applied`) and in the audit trail (entity cache-<purgeId>)"),
  routeId: EntityId.nullable(),
  keyPrefix: z.string().nullable(),
  requestedAt: isoTime,
  position: z
    .string()
    .regex(/^\d+$/)
    .describe("Log position of the CachePurgeRequested event: the control-plane version a gateway reaches once it has read the purge"),
});
