import { type Filter, eventTypeFilter, streamNameFilter } from "@eventstore/db-client";
import { type EventFilter, matchesFilter } from "../event-store.js";

/**
 * Streams the adapter keeps for itself (checkpoints, the projector registry). They hold
 * ordinary events, so they are hidden from every read of the log by name.
 */
export const internalStreamPrefix = "tollgate.";

/** System events (`$`-typed, or in `$` streams) and the adapter's own streams are never delivered. */
export function isHiddenEvent(streamId: string, type: string): boolean {
  return type.startsWith("$") || streamId.startsWith("$") || streamId.startsWith(internalStreamPrefix);
}

export interface EsdbFilterPlan {
  /**
   * What the server filters on. EventStoreDB filters on one field per request, so with
   * both criteria the stream prefixes go to the server (a prefix filter there is exactly
   * the port's semantics) and the event types are checked here.
   */
  server: { on: "streamName"; prefixes: string[] } | { on: "eventType"; prefixes: string[] } | { on: "not-hidden" };
  /** False when a criterion is an empty list: the filter matches no event at all. */
  canMatch: boolean;
  /** The exact check, applied to every event the server sends: the whole port filter, not just the part it skipped. */
  accepts(streamId: string, type: string): boolean;
}

export function planEsdbFilter(filter: EventFilter | undefined): EsdbFilterPlan {
  const streamPrefixes = filter?.streamPrefixes;
  const eventTypes = filter?.eventTypes;
  const canMatch = streamPrefixes?.length !== 0 && eventTypes?.length !== 0;
  const accepts = (streamId: string, type: string): boolean =>
    !isHiddenEvent(streamId, type) && matchesFilter(filter, streamId, type);
  if (streamPrefixes && streamPrefixes.length > 0) {
    return { server: { on: "streamName", prefixes: [...streamPrefixes] }, canMatch, accepts };
  }
  if (eventTypes && eventTypes.length > 0) {
    // The server matches event types by prefix ("RequestCompleted" also lets
    // "RequestCompletedV2" through); `accepts` makes it exact.
    return { server: { on: "eventType", prefixes: [...eventTypes] }, canMatch, accepts };
  }
  return { server: { on: "not-hidden" }, canMatch, accepts };
}

/** Escapes a literal for the .NET regular expressions the server evaluates. */
function regexLiteral(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
}

/** The client library's filter for a plan; `checkpointInterval` is in multiples of the server's search window. */
export function toEsdbFilter(plan: EsdbFilterPlan, checkpointInterval: number): Filter {
  switch (plan.server.on) {
    case "streamName":
      return streamNameFilter({ prefixes: plan.server.prefixes, checkpointInterval });
    case "eventType":
      return eventTypeFilter({ prefixes: plan.server.prefixes, checkpointInterval });
    case "not-hidden":
      return streamNameFilter({ regex: `^(?!\\$|${regexLiteral(internalStreamPrefix)})`, checkpointInterval });
  }
}
