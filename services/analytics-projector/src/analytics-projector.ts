import type { AnalyticsStore } from "@tollgate/analytics";
import { streamCategories, streamPrefix } from "@tollgate/events";
import type { Projector } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import { analyticsEventTypes, projectRequestEvent } from "./analytics-projection.js";

export interface AnalyticsProjectorStats {
  rowsInserted: number;
  rowsSkipped: number;
  lastBatchMs: number;
}

export interface AnalyticsProjectorOptions {
  name: string;
  store: AnalyticsStore;
  logger?: Logger;
  /** Crash tests only: pause after a batch's rows, before its checkpoint. */
  holdBeforeCheckpointMs?: number;
}

/**
 * The analytics projector as the subscription runner sees it. ownedCheckpoint: the
 * runner resumes from the checkpoint the store holds beside the rows, never from its
 * own mirror. The store makes a re-delivered batch count once (by event id), so a crash
 * anywhere in a batch, a restart or a replay gives the same rows.
 */
export function createAnalyticsProjector(options: AnalyticsProjectorOptions): Projector & { stats: AnalyticsProjectorStats } {
  const { name, store, logger, holdBeforeCheckpointMs = 0 } = options;
  const stats: AnalyticsProjectorStats = { rowsInserted: 0, rowsSkipped: 0, lastBatchMs: 0 };
  return {
    name,
    stats,
    filter: { streamPrefixes: [streamPrefix(streamCategories.requests)], eventTypes: analyticsEventTypes },
    ownedCheckpoint: { load: () => store.loadCheckpoint(name) },
    async handle(batch, context) {
      const started = performance.now();
      const rows = batch.map(projectRequestEvent);
      const result = await store.writeBatch(name, rows, context.checkpoint, {
        beforeCheckpoint:
          holdBeforeCheckpointMs > 0
            ? async (written) => {
                logger?.info({ first: String(batch[0]!.position), last: String(context.checkpoint), size: batch.length, rows: written.rows }, "batch held before checkpoint");
                await new Promise((resolve) => setTimeout(resolve, holdBeforeCheckpointMs));
              }
            : undefined,
      });
      stats.rowsInserted += result.inserted;
      stats.rowsSkipped += result.skipped;
      stats.lastBatchMs = performance.now() - started;
      logger?.debug({ checkpoint: String(context.checkpoint), size: batch.length, ...result }, "batch written");
    },
  };
}
