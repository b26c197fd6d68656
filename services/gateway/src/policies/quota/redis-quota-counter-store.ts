import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { systemClock, type Clock } from "../../clock.js";
import { TurnWriteCoalescer } from "../rate-limit/turn-write-coalescer.js";
import { withTimeout } from "../rate-limit/with-timeout.js";
import type { QuotaCount, QuotaCounterStore, QuotaEnforcement } from "./quota-counter-store.js";

export interface RedisQuotaCounterStoreOptions {
  /** A connected ioredis client (see `createRedisClient`); the caller closes it. */
  client: Redis;
  /** A call slower than this fails, and the quota is decided without Redis. Default 50 ms. */
  timeoutMs?: number;
  clock?: Pick<Clock, "epochMs">;
}

/**
 * Quota counters in Redis with rate-limiter-flexible: a RateLimiterRedis whose points
 * are the quota and whose duration runs to the end of the period (customDuration), one
 * limiter per distinct quota size. Its increment is a Lua INCRBY, so two gateways can
 * never both take the last unit.
 *
 * rate-limiter-flexible counts a consume before comparing it with the limit, so a
 * refused consume has incremented the counter too. For a hard quota the store gives that
 * unit back at once with reward(). Until the reward lands the counter reads one higher
 * than it should, which can only refuse requests that were going to be refused anyway:
 * the counter was already at the limit. For an overage quota the increment is kept: the
 * request is admitted and billed as overage.
 */
export class RedisQuotaCounterStore implements QuotaCounterStore {
  readonly #client: Redis;
  readonly #timeoutMs: number;
  readonly #clock: Pick<Clock, "epochMs">;
  readonly #limiters = new Map<number, RateLimiterRedis>();
  readonly #writes: TurnWriteCoalescer;

  constructor(options: RedisQuotaCounterStoreOptions) {
    this.#client = options.client;
    this.#writes = new TurnWriteCoalescer(options.client);
    this.#timeoutMs = options.timeoutMs ?? 50;
    this.#clock = options.clock ?? systemClock;
  }

  async consume(key: string, cost: number, limit: number, enforcement: QuotaEnforcement, expiresAt: number): Promise<QuotaCount> {
    const limiter = this.#limiter(limit);
    const options = { customDuration: this.#seconds(expiresAt) };
    this.#writes.hold();
    try {
      const result = await withTimeout(limiter.consume(key, cost, options), this.#timeoutMs);
      return { used: result.consumedPoints, admitted: true };
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      if (enforcement === "overage") return { used: error.consumedPoints, admitted: true };
      try {
        await withTimeout(limiter.reward(key, cost, options), this.#timeoutMs);
      } catch {
        // The refusal stands either way. A lost reward leaves the counter `cost` high,
        // which refuses a request too many, never admits one too many.
      }
      return { used: error.consumedPoints - cost, admitted: false };
    }
  }

  async refund(key: string, n: number, expiresAt: number): Promise<number> {
    const result = await withTimeout(this.#limiter(1).reward(key, n, { customDuration: this.#seconds(expiresAt) }), this.#timeoutMs);
    return result.consumedPoints;
  }

  async set(key: string, used: number, expiresAt: number): Promise<void> {
    await withTimeout(this.#limiter(1).set(key, used, this.#seconds(expiresAt)), this.#timeoutMs);
  }

  async get(key: string): Promise<number> {
    const result = await withTimeout(this.#limiter(1).get(key), this.#timeoutMs);
    return result?.consumedPoints ?? 0;
  }

  #seconds(expiresAt: number): number {
    return Math.max(1, Math.ceil((expiresAt - this.#clock.epochMs()) / 1_000));
  }

  #limiter(points: number): RateLimiterRedis {
    let limiter = this.#limiters.get(points);
    if (limiter === undefined) {
      // keyPrefix "" so the key in Redis is exactly quotaCounterKey(...), the projector's contract.
      limiter = new RateLimiterRedis({ storeClient: this.#client, keyPrefix: "", points, duration: 86_400, rejectIfRedisNotReady: true });
      this.#limiters.set(points, limiter);
    }
    return limiter;
  }
}
