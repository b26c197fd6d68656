/**
 * The arithmetic of an open-loop load: request i is due at i / rate seconds after the
 * start, whatever happened to the requests before it. Latency is measured from that
 * scheduled time, so a stall in the system under test (or in the generator) is charged
 * to every request it delayed, instead of silently lowering the offered rate
 * (coordinated omission).
 */
export class OpenLoopSchedule {
  /** Number of requests in the schedule. */
  readonly total: number;
  private readonly intervalUs: number;

  constructor(
    /** Requests per second, > 0. */
    readonly rate: number,
    /** Seconds of load, > 0. */
    readonly durationS: number,
  ) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a positive number, got ${rate}`);
    if (!(durationS > 0) || !Number.isFinite(durationS)) throw new RangeError(`duration must be a positive number, got ${durationS}`);
    this.total = Math.max(1, Math.round(rate * durationS));
    this.intervalUs = 1e6 / rate;
  }

  /** Microseconds from the start at which request `index` is due. */
  offsetUs(index: number): number {
    return index * this.intervalUs;
  }

  /** How many requests are due `elapsedUs` after the start: those whose offset is <= elapsedUs. */
  dueCount(elapsedUs: number): number {
    if (elapsedUs < 0) return 0;
    let n = Math.min(this.total, Math.floor(elapsedUs / this.intervalUs) + 1);
    // Correct the floating-point estimate so that dueCount agrees exactly with offsetUs.
    while (n < this.total && this.offsetUs(n) <= elapsedUs) n++;
    while (n > 0 && this.offsetUs(n - 1) > elapsedUs) n--;
    return n;
  }

  /** Microseconds from `elapsedUs` until the next request after the first `sent` ones is due; null when all were sent. */
  delayUntilNextUs(sent: number, elapsedUs: number): number | null {
    if (sent >= this.total) return null;
    return Math.max(0, this.offsetUs(sent) - elapsedUs);
  }

  /** Microseconds from the start to the last scheduled request. */
  get lastOffsetUs(): number {
    return this.offsetUs(this.total - 1);
  }
}
