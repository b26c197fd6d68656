import type { EventFilter, Position, RecordedEvent } from "../event-store.js";

/** What the runner hands to `handle` besides the batch. */
export interface BatchContext {
  /**
   * The position to record once this batch's effects are durable: the position of its
   * last event. A projector that owns its checkpoint writes exactly this value in the
   * same transaction as its effects.
   */
  readonly checkpoint: Position;
  /** Aborted when the runner is stopped with `{ abandon: true }` while this batch is in flight. */
  readonly signal: AbortSignal;
}

/**
 * A checkpoint that the projector keeps itself, next to its own data. The runner only
 * reads it to know where to resume; the projector writes `context.checkpoint` inside
 * the transaction that applies the batch, which makes its effects exactly-once.
 */
export interface OwnedCheckpoint {
  load(): Promise<Position | null>;
}

/**
 * A projector is pure logic over batches of events. The runner owns the subscription,
 * batching, checkpoints and retries, so `handle` may be called again with events it has
 * already seen (after a crash or a failed checkpoint write): it must be idempotent, or
 * own its checkpoint.
 */
export interface Projector {
  /** Stable name: the checkpoint is stored under it. Renaming restarts from the beginning. */
  readonly name: string;
  /** Only events that match are delivered; an absent filter delivers every event. */
  readonly filter?: EventFilter;
  /** Present when the projector stores its checkpoint atomically with its own writes. */
  readonly ownedCheckpoint?: OwnedCheckpoint;
  /** Applies a non-empty batch, in log order. Throwing makes the runner back off and re-deliver. */
  handle(batch: readonly RecordedEvent[], context: BatchContext): Promise<void>;
}
