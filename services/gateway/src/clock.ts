import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";

/**
 * Time as the gateway reads it. Injected where request events are built, so tests
 * assert exact timestamps and durations.
 */
export interface Clock {
  /** Wall-clock time in epoch milliseconds, for `startedAt`. */
  epochMs(): number;
  /** Monotonic milliseconds, for durations: immune to wall-clock adjustments. */
  monotonicMs(): number;
}

export const systemClock: Clock = {
  epochMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};

/** Where request ids come from when the client did not send a usable one. */
export interface IdGenerator {
  requestId(): string;
}

export const randomIds: IdGenerator = {
  requestId: () => randomUUID(),
};
