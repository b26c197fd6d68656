import { streamCategories, streamPrefix } from "@tollgate/events";
import type { Projector } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import { quotaProjectionEventTypes, type UsageCounts } from "./quota-projection.js";
import type { BatchHold, SqliteQuotaStore } from "./sqlite-quota-store.js";

export interface QuotaProjectorOptions {
  store: SqliteQuotaStore;
  /** Called with the usage rows a batch changed, after its transaction committed. */
  onCommitted?: (rows: readonly UsageCounts[]) => void;
  /** Crash tests only: keep each batch's transaction open this long. */
  hold?: BatchHold;
  logger?: Logger;
}

/**
 * The quota projector as the subscription runner sees it: which events it wants, where
 * its checkpoint lives, and how a batch is applied. The runner owns the subscription,
 * batching, retries and backoff; the store owns the transaction; the projection's logic
 * is pure (quota-projection.ts).
 *
 * ownedCheckpoint: the runner resumes from the checkpoint the store committed with the
 * counts, never from its own mirror of it, which is what makes a crash mid-batch
 * harmless.
 */
export function createQuotaProjector(options: QuotaProjectorOptions): Projector {
  const { store, onCommitted, hold, logger } = options;
  return {
    name: store.name,
    filter: {
      streamPrefixes: [streamPrefix(streamCategories.requests), streamPrefix(streamCategories.plan), streamPrefix(streamCategories.subscription)],
      eventTypes: quotaProjectionEventTypes,
    },
    ownedCheckpoint: { load: () => store.loadCheckpoint() },
    async handle(batch, context) {
      const rows = await store.applyBatch(batch, context.checkpoint, {
        ms: hold?.ms ?? 0,
        onOpen: (open) => {
          logger?.debug({ first: String(open.first), last: String(open.last), size: open.size }, "batch open");
          hold?.onOpen?.(open);
        },
      });
      logger?.debug({ checkpoint: String(context.checkpoint), size: batch.length, rows: rows.length }, "batch committed");
      onCommitted?.(rows);
    },
  };
}
