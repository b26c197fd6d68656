import { streamCategories, streamPrefix } from "@tollgate/events";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * How long request events are kept at least: 75 days. A billing period is at most 31
 * days, and Stripe accepts meter events backdated by up to 35 days, so a period can be
 * re-rated and re-reported from the log for as long as Stripe would still take it,
 * with 9 days to spare for a projector that was down.
 */
export const REQUEST_EVENT_RETENTION_MS = 75 * DAY_MS;

export interface RetentionPolicy {
  /** Streams whose events may be removed; events of every other stream are kept forever. */
  streamPrefixes: readonly string[];
  /** Events younger than this are kept, whatever the checkpoints say. */
  maxAgeMs: number;
}

/** Request events only; control-plane and billing events are the record and stay. */
export const requestEventRetentionPolicy: RetentionPolicy = {
  streamPrefixes: [streamPrefix(streamCategories.requests)],
  maxAgeMs: REQUEST_EVENT_RETENTION_MS,
};
