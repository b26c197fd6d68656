import { billingStreamCategory, streamCategories, streamPrefix } from "@tollgate/events";
import type { Projector } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import type { SqliteBillingStore } from "./sqlite-billing-store.js";
import { billingProjectionEventTypes } from "./usage-aggregation.js";

export interface BillingProjectorOptions {
  store: SqliteBillingStore;
  /** Called after a batch's transaction committed: the reporter looks at the new usage. */
  onCommitted?: (changedUsage: number) => void;
  logger?: Logger;
}

/**
 * The billing projector as the subscription runner sees it: which events it wants, where
 * its checkpoint lives (in the store, committed with the usage: ownedCheckpoint), and how
 * a batch is applied. The logic is pure (usage-aggregation.ts); the store owns the
 * transaction. Of its own billing-* streams it reads back BillingPeriodClosed only (not
 * UsageReported): where a close lands in the log decides which requests are late.
 */
export function createBillingProjector(options: BillingProjectorOptions): Projector {
  const { store, onCommitted, logger } = options;
  return {
    name: store.name,
    filter: {
      streamPrefixes: [
        streamPrefix(streamCategories.requests),
        streamPrefix(streamCategories.plan),
        streamPrefix(streamCategories.subscription),
        streamPrefix(streamCategories.consumer),
        `${billingStreamCategory}-`,
      ],
      eventTypes: billingProjectionEventTypes,
    },
    ownedCheckpoint: { load: () => store.loadCheckpoint() },
    async handle(batch, context) {
      const changed = await store.applyBatch(batch, context.checkpoint);
      logger?.debug({ checkpoint: String(context.checkpoint), size: batch.length, changedUsage: changed }, "batch committed");
      if (changed > 0) onCommitted?.(changed);
    },
  };
}
