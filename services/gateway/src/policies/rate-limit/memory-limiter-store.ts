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
    const evaluations: LimitEvaluation[] = [];
    let allowed = true;
    for (const check of checks) {
      const entry = this.#entries.get(check.key);
      const evaluation = evaluateLimit(check.shape, entry !== undefined && entry.expiresAt > now ? entry.state : undefined, now, cost);
      if (!evaluation.allowed) allowed = false;
      evaluations.push(evaluation);
    }
    if (allowed) {
      checks.forEach((check, index) => {
        const evaluation = evaluations[index] as LimitEvaluation;
        this.#entries.set(check.key, { state: evaluation.next, expiresAt: evaluation.expiresAt });
      });
    }
    return evaluations.map(({ allowed: ok, remaining, resetMs, retryAfterMs }) => ({ allowed: ok, remaining, resetMs, retryAfterMs }));
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
