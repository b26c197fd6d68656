import type { RateLimitAlgorithm } from "@tollgate/events";

/** What one limit allows: `points` per `windowMs`, counted by `algorithm`. */
export interface LimitShape {
  readonly algorithm: RateLimitAlgorithm;
  readonly points: number;
  readonly windowMs: number;
}

/**
 * A limit's stored state, as plain numbers so that the memory store keeps it as is and
 * the Redis script stores it as one string:
 * - fixed-window: `[windowStart, used]`
 * - sliding-window: `[windowIndex, usedInWindow, usedInPreviousWindow]`
 * - token-bucket: `[theoreticalArrivalTime]` (GCRA)
 */
export type LimitState = readonly number[];

export interface LimitEvaluation {
  allowed: boolean;
  /** The state to store if the whole request is admitted. Nothing is stored otherwise. */
  next: LimitState;
  /** Requests this limit still allows after this one (when admitted) or now (when not). */
  remaining: number;
  /** Milliseconds until this limit's allowance is whole again. */
  resetMs: number;
  /** Milliseconds until a request of the same cost could be admitted by this limit; 0 when admitted. */
  retryAfterMs: number;
  /** Epoch ms after which the state means nothing any more and may be dropped. */
  expiresAt: number;
}

/**
 * Float tolerance for the token bucket: `windowMs / points * points` need not equal
 * `windowMs` exactly in binary floating point. redis-limit-script.ts uses the same value.
 */
export const bucketEpsilon = 1e-6;

/**
 * Decides one limit at instant `now` (epoch ms) for a request costing `cost` points.
 * Pure: the memory store calls it, and the Redis script is a line-by-line port of it
 * (same operations in the same order, so the same IEEE doubles), which a parity test
 * checks on both stores with the same clock.
 */
export function evaluateLimit(shape: LimitShape, state: LimitState | undefined, now: number, cost: number): LimitEvaluation {
  switch (shape.algorithm) {
    case "fixed-window":
      return fixedWindow(shape, state, now, cost);
    case "sliding-window":
      return slidingWindow(shape, state, now, cost);
    case "token-bucket":
      return tokenBucket(shape, state, now, cost);
  }
}

/**
 * Fixed window, as rate-limiter-flexible counts it: a window opens at a key's first
 * request and lasts `windowMs`, so windows of different clients do not all reset on the
 * same second. Allows bursts of up to 2× points across a window boundary.
 */
function fixedWindow({ points, windowMs }: LimitShape, state: LimitState | undefined, now: number, cost: number): LimitEvaluation {
  let start = now;
  let count = 0;
  if (state !== undefined && now < (state[0] as number) + windowMs) {
    start = state[0] as number;
    count = state[1] as number;
  }
  const allowed = count + cost <= points;
  const used = allowed ? count + cost : count;
  const resetMs = start + windowMs - now;
  return {
    allowed,
    next: [start, used],
    remaining: Math.max(0, points - used),
    resetMs,
    retryAfterMs: allowed ? 0 : resetMs,
    expiresAt: start + windowMs,
  };
}

/**
 * Sliding window counter: windows aligned to multiples of `windowMs`, the previous
 * window's count weighted by how much of it still overlaps the sliding window. No
 * boundary bursts, O(1) state; an approximation of a true sliding log that assumes the
 * previous window's requests were spread evenly.
 */
function slidingWindow({ points, windowMs }: LimitShape, state: LimitState | undefined, now: number, cost: number): LimitEvaluation {
  const index = Math.floor(now / windowMs);
  let current = 0;
  let previous = 0;
  if (state !== undefined) {
    if (state[0] === index) {
      current = state[1] as number;
      previous = state[2] as number;
    } else if (state[0] === index - 1) {
      previous = state[1] as number;
    }
  }
  const windowStart = index * windowMs;
  const weight = (windowMs - (now - windowStart)) / windowMs;
  const allowed = previous * weight + current + cost <= points;
  if (allowed) current += cost;
  const remaining = Math.max(0, Math.floor(points - (previous * weight + current)));
  const resetMs = current > 0 ? windowStart + 2 * windowMs - now : previous > 0 ? windowStart + windowMs - now : 0;
  let retryAfterMs = 0;
  if (!allowed) {
    if (cost > points) {
      retryAfterMs = resetMs;
    } else if (current + cost > points) {
      // Next window: `current` becomes the previous window and must fade enough.
      retryAfterMs = windowStart + windowMs + Math.ceil(windowMs * (1 - (points - cost) / current)) - now;
    } else {
      retryAfterMs = windowStart + Math.ceil(windowMs * (1 - (points - cost - current) / previous)) - now;
    }
    retryAfterMs = Math.max(1, retryAfterMs);
  }
  return { allowed, next: [index, current, previous], remaining, resetMs, retryAfterMs, expiresAt: windowStart + 2 * windowMs };
}

/**
 * Token bucket as GCRA (generic cell rate algorithm): one token every
 * `windowMs / points`, a bucket of `points` tokens. The state is the theoretical
 * arrival time (TAT) of the next request; a request fits while TAT stays within one
 * window of now. Smooth refill, exact under concurrency, O(1) state.
 */
function tokenBucket({ points, windowMs }: LimitShape, state: LimitState | undefined, now: number, cost: number): LimitEvaluation {
  const interval = windowMs / points;
  const tat = state === undefined ? now : Math.max(state[0] as number, now);
  const nextTat = tat + interval * cost;
  const allowed = nextTat - now <= windowMs + bucketEpsilon;
  const held = allowed ? nextTat : tat;
  return {
    allowed,
    next: [nextTat],
    remaining: Math.max(0, Math.floor((windowMs - (held - now)) / interval + bucketEpsilon)),
    resetMs: Math.ceil(held - now),
    retryAfterMs: allowed ? 0 : Math.max(1, Math.ceil(nextTat - windowMs - now)),
    expiresAt: Math.ceil(held),
  };
}
