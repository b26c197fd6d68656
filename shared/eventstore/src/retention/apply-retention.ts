import type { CheckpointStore, Position } from "../event-store.js";
import type { RetentionPolicy } from "./retention-policy.js";
import type { SupportsRetention } from "./supports-retention.js";

export interface RetentionResult {
  deleted: number;
  /** Events recorded before this instant were old enough to go. */
  olderThan: Date;
  /** The lowest checkpoint of every registered projector; null when none is registered. */
  safePosition: Position | null;
  /** The projector whose checkpoint is `safePosition`: the one holding retention back. */
  slowestProjector: string | null;
}

/**
 * Removes the events of `policy.streamPrefixes` that are older than `policy.maxAgeMs`
 * AND that every registered projector has already processed.
 *
 * A checkpoint is the last position its projector has processed, so everything at or
 * before the lowest checkpoint has been seen by all of them. With no registered
 * projector nothing is removed: a log that nobody has read yet may still have to be
 * billed from, so an empty registry is treated as "not safe" rather than "all passed".
 * A projector that is deregistered by hand stops protecting its events.
 */
export async function applyRetention(
  store: SupportsRetention,
  checkpoints: CheckpointStore,
  policy: RetentionPolicy,
  now: Date,
): Promise<RetentionResult> {
  if (!Number.isFinite(policy.maxAgeMs) || policy.maxAgeMs < 0) {
    throw new RangeError(`retention maxAgeMs must be a non-negative number, got ${policy.maxAgeMs}`);
  }
  const olderThan = new Date(now.getTime() - policy.maxAgeMs);

  let safePosition: Position | null = null;
  let slowestProjector: string | null = null;
  for (const [name, position] of await checkpoints.list()) {
    if (safePosition === null || position < safePosition) {
      safePosition = position;
      slowestProjector = name;
    }
  }
  if (safePosition === null || safePosition <= 0n || policy.streamPrefixes.length === 0) {
    return { deleted: 0, olderThan, safePosition, slowestProjector };
  }

  const deleted = await store.deleteEventsBefore({
    streamPrefixes: policy.streamPrefixes,
    olderThan,
    maxPosition: safePosition,
  });
  return { deleted, olderThan, safePosition, slowestProjector };
}
