import { requestEventTypes, type RequestEvent } from "@tollgate/events";
import type { EventStore } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import { defineKeyedProjection } from "./keyed-projection.js";
import { LiveReadModel } from "./live-read-model.js";
import { ProjectionTable } from "./projection-table.js";

export interface UsageCounts {
  total: number;
  completed: number;
  rejected: number;
  failed: number;
  /** startedAt of the latest request counted; null before the first. */
  lastRequestAt: string | null;
}

export const noUsage: UsageCounts = { total: 0, completed: 0, rejected: 0, failed: 0, lastRequestAt: null };

/** Pure: one request event added to a consumer's counts. */
export function evolveUsage(state: UsageCounts, event: RequestEvent): UsageCounts {
  const startedAt = event.data.startedAt;
  return {
    total: state.total + 1,
    completed: state.completed + (event.type === "RequestCompleted" ? 1 : 0),
    rejected: state.rejected + (event.type === "RequestRejected" ? 1 : 0),
    failed: state.failed + (event.type === "RequestFailed" ? 1 : 0),
    lastRequestAt: state.lastRequestAt === null || startedAt > state.lastRequestAt ? startedAt : state.lastRequestAt,
  };
}

export const usageProjection = defineKeyedProjection<UsageCounts, RequestEvent>({
  name: "usage",
  canHandle: requestEventTypes,
  keyOf: (event) => event.data.consumerId,
  initialState: noUsage,
  evolve: evolveUsage,
});

/**
 * Requests per consumer, counted from the request events in the log. A stand-in until
 * the analytics projector lands: it is in memory and folds the whole log at start.
 */
export class UsageReadModel {
  readonly table = new ProjectionTable(usageProjection);
  readonly live: LiveReadModel;

  constructor(options: { logger?: Logger } = {}) {
    this.live = new LiveReadModel({ name: "usage", tables: [this.table], ...(options.logger ? { logger: options.logger } : {}) });
  }

  start(store: EventStore): Promise<void> {
    return this.live.start(store);
  }

  stop(): Promise<void> {
    return this.live.stop();
  }

  usageOf(consumerId: string): UsageCounts {
    return this.table.get(consumerId)?.state ?? noUsage;
  }
}
