import { systemClock, type Clock } from "../../clock.js";
import { evaluateLimit, type LimitEvaluation, type LimitState } from "./evaluate-limit.js";
import type { LimitCheck, LimitVerdict, LimiterStore } from "./limiter-store.js";

interface Entry {
  state: LimitState;
  expiresAt: number;
}

export interface MemoryLimiterStoreOptions {
  clock?: Pick<Clock, "epochMs">;
  /** How often expired counters are dropped. Default 10 s; 0 disables the timer (tests call `sweep`). */
  sweepIntervalMs?: number;
}

/**
 * Counters in this process's memory: the store of a single embedded gateway, and the
 * insurance store of a Redis-backed one while Redis is unreachable.
 *
 * Atomicity comes from running to completion: `consume` reads, decides and writes every
 * check synchronously, with no await in between, so on Node's single thread no other
 * request can run between the check and the commit.
 */
export class MemoryLimiterStore implements LimiterStore {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: Pick<Clock, "epochMs">;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(options: MemoryLimiterStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    const interval = options.sweepIntervalMs ?? 10_000;
    if (interval > 0) {
      this.#timer = setInterval(() => this.sweep(), interval);
      this.#timer.unref();
    }
  }

  consume(checks: readonly LimitCheck[], cost: number): LimitVerdict[] {
    const now = this.#clock.epochMs();
    // Called on every request of a limited route: one pass builds the verdicts and keeps
    // the evaluations for the commit, in arrays of their final length (an array grown by
    // push starts with room for 16), and a counter's entry is updated in place.
    const evaluations = new Array<LimitEvaluation>(checks.length);
    const verdicts = new Array<LimitVerdict>(checks.length);
    let allowed = true;
    for (let index = 0; index < checks.length; index++) {
      const check = checks[index] as LimitCheck;
      const entry = this.#entries.get(check.key);
      const evaluation = evaluateLimit(check.shape, entry !== undefined && entry.expiresAt > now ? entry.state : undefined, now, cost);
      if (!evaluation.allowed) allowed = false;
      evaluations[index] = evaluation;
      verdicts[index] = { allowed: evaluation.allowed, remaining: evaluation.remaining, resetMs: evaluation.resetMs, retryAfterMs: evaluation.retryAfterMs };
    }
    if (allowed) {
      for (let index = 0; index < checks.length; index++) {
        const { key } = checks[index] as LimitCheck;
        const { next, expiresAt } = evaluations[index] as LimitEvaluation;
        const entry = this.#entries.get(key);
        if (entry === undefined) {
          this.#entries.set(key, { state: next, expiresAt });
        } else {
          entry.state = next;
          entry.expiresAt = expiresAt;
        }
      }
    }
    return verdicts;
  }

  /** Drops counters whose state has expired. */
  sweep(): void {
    const now = this.#clock.epochMs();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }

  /** Forgets every counter (after the shared store comes back, for example). */
  clear(): void {
    this.#entries.clear();
  }

  /** Counters currently held. */
  get size(): number {
    return this.#entries.size;
  }

  close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#entries.clear();
    return Promise.resolve();
  }
}
