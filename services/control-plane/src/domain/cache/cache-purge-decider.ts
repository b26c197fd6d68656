import { cacheEventTypes, streamCategories, type CacheEvent, type CachePurgeFilter, type CachePurgeRequested } from "@tollgate/events";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import { problems } from "../../errors/problem-catalog.js";
import type { Decider, DecisionContext } from "../decider.js";

export interface RequestCachePurge extends CachePurgeFilter {
  type: "RequestCachePurge";
  purgeId: string;
}

/** A purge request as recorded; `null` before it is. */
export type CachePurge = CachePurgeRequested["data"];

/**
 * A purge is a request, not a state to keep: its stream (`cache-<purgeId>`) holds its
 * one event, under an id the control plane generates. The filter's shape was checked at
 * the API; whether any gateway declares the route is the gateways' to say (a purge of
 * a route a gateway does not cache removes nothing there).
 */
export function decideCachePurge(command: RequestCachePurge, state: CachePurge | null, { actor, now }: DecisionContext): CacheEvent[] {
  if (state !== null) throw new ControlPlaneError(problems.alreadyExists, `cache purge "${command.purgeId}" was already requested`);
  const { type: _type, purgeId, routeId, keyPrefix } = command;
  return [
    {
      type: "CachePurgeRequested",
      version: 1,
      data: {
        purgeId,
        ...(routeId === undefined ? {} : { routeId }),
        ...(keyPrefix === undefined ? {} : { keyPrefix }),
        requestedAt: now.toISOString(),
        actor,
      },
    },
  ];
}

export function evolveCachePurge(_state: CachePurge | null, event: CacheEvent): CachePurge {
  return event.data;
}

export const cachePurgeDecider: Decider<RequestCachePurge, CachePurge | null, CacheEvent> = {
  category: streamCategories.cache,
  eventTypes: cacheEventTypes,
  initialState: null,
  evolve: evolveCachePurge,
  decide: decideCachePurge,
};
