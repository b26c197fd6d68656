import { systemClock, type Clock } from "../../clock.js";
import type { QuotaCount, QuotaCounterStore, QuotaEnforcement } from "./quota-counter-store.js";

interface Counter {
  used: number;
  expiresAt: number;
}

/**
 * Quota counters in this process's memory: the store of the single embedded gateway,
 * and the insurance store of a Redis-backed one while Redis is unreachable.
 *
 * The check and the increment run synchronously, with no await in between, so no other
 * request can take the last unit between them. (rate-limiter-flexible's memory limiter
 * is not used here: it expires keys with setTimeout, which caps a duration at about
 * 24.8 days, shorter than a month.)
 */
export class MemoryQuotaCounterStore implements QuotaCounterStore {
  readonly #counters = new Map<string, Counter>();
  readonly #clock: Pick<Clock, "epochMs">;

  constructor(options: { clock?: Pick<Clock, "epochMs"> } = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  consume(key: string, cost: number, limit: number, enforcement: QuotaEnforcement, expiresAt: number): QuotaCount {
    const counter = this.#live(key) ?? this.#create(key, 0, expiresAt);
    if (enforcement === "hard" && counter.used + cost > limit) return { used: counter.used, admitted: false };
    counter.used += cost;
    return { used: counter.used, admitted: true };
  }

  /** Starts a counter at `used` unless one exists (the insurance store seeds it with the last value Redis gave). */
  seed(key: string, used: number, expiresAt: number): void {
    if (this.#live(key) === undefined) this.#create(key, used, expiresAt);
  }

  refund(key: string, n: number, expiresAt: number): Promise<number> {
    const counter = this.#live(key) ?? this.#create(key, 0, expiresAt);
    counter.used -= n;
    return Promise.resolve(counter.used);
  }

  set(key: string, used: number, expiresAt: number): Promise<void> {
    this.#create(key, used, expiresAt);
    return Promise.resolve();
  }

  get(key: string): Promise<number> {
    return Promise.resolve(this.#live(key)?.used ?? 0);
  }

  /** Drops expired counters; the limiter calls it now and then. */
  sweep(): void {
    const now = this.#clock.epochMs();
    for (const [key, counter] of this.#counters) if (counter.expiresAt <= now) this.#counters.delete(key);
  }

  clear(): void {
    this.#counters.clear();
  }

  #live(key: string): Counter | undefined {
    const counter = this.#counters.get(key);
    if (counter === undefined) return undefined;
    if (counter.expiresAt > this.#clock.epochMs()) return counter;
    this.#counters.delete(key);
    return undefined;
  }

  #create(key: string, used: number, expiresAt: number): Counter {
    const counter = { used, expiresAt };
    this.#counters.set(key, counter);
    return counter;
  }
}
