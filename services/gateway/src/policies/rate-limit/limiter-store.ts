import type { LimitShape } from "./evaluate-limit.js";

/** One limit to decide for a request: the counter it uses and what it allows. */
export interface LimitCheck {
  readonly key: string;
  readonly shape: LimitShape;
}

/** One limit's answer, in the order of the checks. */
export interface LimitVerdict {
  readonly allowed: boolean;
  readonly remaining: number;
  readonly resetMs: number;
  readonly retryAfterMs: number;
}

/**
 * Where counters live. The one rule every store keeps: `consume` evaluates all the
 * checks at one instant and commits them all only if every one allows the request, as
 * one indivisible step. A request that any limit rejects therefore consumes nothing
 * from the others, and no other request can observe or act on a half-applied decision.
 */
export interface LimiterStore {
  /** Synchronous where the store is in memory; a Promise for a remote store. Rejects when the store cannot answer. */
  consume(checks: readonly LimitCheck[], cost: number): readonly LimitVerdict[] | Promise<readonly LimitVerdict[]>;
  close(): Promise<void>;
}
