import type { CachePurgeFilter } from "@tollgate/events";
import { cachePurgeDecider } from "../domain/cache/cache-purge-decider.js";
import type { ServiceContext, WriteOptions } from "./service-context.js";

export interface CachePurgeReceipt {
  purgeId: string;
  routeId: string | null;
  keyPrefix: string | null;
  requestedAt: string;
  /** Log position of the CachePurgeRequested event, as decimal text. */
  position: string;
}

/**
 * Requests to purge the gateways' response caches (stream `cache-<purgeId>`). The control
 * plane only records the request: each gateway following the log applies it to its own
 * cache, so the answer cannot say how many entries went, nor when the last gateway acted.
 */
export class CachePurgeService {
  constructor(private readonly context: ServiceContext) {}

  async request(filter: CachePurgeFilter, options: WriteOptions): Promise<CachePurgeReceipt> {
    const purgeId = this.context.ids.entityId("purge");
    const result = await this.context.commands.execute(cachePurgeDecider, purgeId, { type: "RequestCachePurge", purgeId, ...filter }, options);
    const recorded = result.events[0];
    if (recorded === undefined || result.position === null) throw new Error(`cache purge ${purgeId} recorded no event`);
    return {
      purgeId,
      routeId: recorded.data.routeId ?? null,
      keyPrefix: recorded.data.keyPrefix ?? null,
      requestedAt: recorded.data.requestedAt,
      position: result.position.toString(),
    };
  }
}
