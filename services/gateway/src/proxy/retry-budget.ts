/**
 * Caps retries at a share of traffic, so that a failing upstream does not get its load
 * multiplied by the retries (Finagle's and Envoy's retry budgets): over the last
 * `windowMs`, retries may be at most `ratio` × requests, plus `minPerSecond` retries per
 * second so that a quiet route can still retry at all. Counted in one-second buckets.
 */
export class RetryBudget {
  readonly #requests: Float64Array;
  readonly #retries: Float64Array;
  readonly #buckets: number;
  #bucket = -1;

  constructor(
    private readonly ratio: number,
    private readonly minPerSecond: number,
    windowMs = 10_000,
  ) {
    this.#buckets = Math.max(1, Math.round(windowMs / 1_000));
    this.#requests = new Float64Array(this.#buckets);
    this.#retries = new Float64Array(this.#buckets);
  }

  /** A client request arrived (each deposits `ratio` of a retry). */
  request(now: number): void {
    this.#advance(now);
    const slot = this.#bucket % this.#buckets;
    this.#requests[slot] = (this.#requests[slot] as number) + 1;
  }

  /** Takes one retry from the budget if there is one; false when it is spent. */
  tryRetry(now: number): boolean {
    this.#advance(now);
    let requests = 0;
    let retries = 0;
    for (let index = 0; index < this.#buckets; index++) {
      requests += this.#requests[index] as number;
      retries += this.#retries[index] as number;
    }
    if (retries + 1 > this.ratio * requests + this.minPerSecond * this.#buckets) return false;
    const slot = this.#bucket % this.#buckets;
    this.#retries[slot] = (this.#retries[slot] as number) + 1;
    return true;
  }

  #advance(now: number): void {
    const bucket = Math.floor(now / 1_000);
    if (this.#bucket === -1) {
      this.#bucket = bucket;
      return;
    }
    if (bucket <= this.#bucket) return;
    const steps = Math.min(bucket - this.#bucket, this.#buckets);
    for (let step = 1; step <= steps; step++) {
      const slot = (this.#bucket + step) % this.#buckets;
      this.#requests[slot] = 0;
      this.#retries[slot] = 0;
    }
    this.#bucket = bucket;
  }
}

/**
 * Exponential backoff with "full jitter" (AWS Architecture Blog, 2015): a uniformly
 * random wait in [0, min(maxMs, baseMs × 2^(attempt-1))]. `attempt` is the retry's
 * number, from 1. Spreads the retries of many clients instead of synchronising them.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Methods RFC 9110 9.2.2 defines as idempotent: a retry cannot do twice what was meant once. */
export const idempotentMethods: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
