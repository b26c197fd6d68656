import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { Clock } from "../../clock.js";
import type { QuotaCount, QuotaEnforcement } from "../quota/quota-counter-store.js";
import type { LimitCheck, LimitVerdict, LimiterStore } from "./limiter-store.js";
import { algorithmCodes, multiLimitScript, quotaCodes } from "./multi-limit-script.js";
import { runScript } from "./run-script.js";

export interface RedisLimiterStoreOptions {
  /** A connected ioredis client; see `createRedisClient` for the options the policy expects. The caller closes it. */
  client: Redis;
  /** A decision that takes longer than this fails, and the limiter decides without Redis. Default 50 ms. */
  timeoutMs?: number;
  /**
   * Where "now" comes from. Default: the Redis server's clock, which every gateway
   * shares, so windows do not depend on how well the gateways' clocks agree. Tests pass
   * a clock to drive both stores through the same instants.
   */
  clock?: Pick<Clock, "epochMs">;
}

const sha = createHash("sha1").update(multiLimitScript).digest("hex");

/**
 * Counters in Redis, shared by every gateway. Each request is one EVALSHA of the
 * multi-limit script (multi-limit-script.ts), which decides and commits all of the
 * request's limits atomically.
 *
 * A timeout is not a cancellation: a script that was already sent may still run and
 * count the request once Redis answers. That errs on the side of counting a request
 * the insurance store also counted, never of losing one.
 */
export class RedisLimiterStore implements LimiterStore {
  readonly #client: Redis;
  readonly #timeoutMs: number;
  readonly #clock: Pick<Clock, "epochMs"> | undefined;

  constructor(options: RedisLimiterStoreOptions) {
    this.#client = options.client;
    this.#timeoutMs = options.timeoutMs ?? 50;
    this.#clock = options.clock;
  }

  async consume(checks: readonly LimitCheck[], cost: number): Promise<readonly LimitVerdict[]> {
    const args: (string | number)[] = [this.#clock === undefined ? "" : this.#clock.epochMs(), cost, quotaCodes.none, 0, 0];
    for (const { shape } of checks) args.push(algorithmCodes[shape.algorithm], shape.points, shape.windowMs);
    const reply = await runScript(this.#client, { script: multiLimitScript, sha }, checks.map((check) => check.key), args, this.#timeoutMs);
    return parseReply(reply, checks.length, false).verdicts;
  }

  /**
   * The rate limits and the quota counter of one request in one script call: the quota
   * is counted only when every limit allowed the request (then `quota` is null in the
   * answer when a limit refused). The counter's key and value are the ones the quota
   * store and the quota projector use (a plain integer, expiring `ttlMs` after it was
   * created).
   */
  async consumeWithQuota(checks: readonly LimitCheck[], cost: number, quota: QuotaCheck): Promise<{ verdicts: readonly LimitVerdict[]; quota: QuotaCount | null }> {
    const args: (string | number)[] = [this.#clock === undefined ? "" : this.#clock.epochMs(), cost, quotaCodes[quota.enforcement], quota.limit, Math.max(1, Math.ceil(quota.ttlMs))];
    for (const { shape } of checks) args.push(algorithmCodes[shape.algorithm], shape.points, shape.windowMs);
    const keys = checks.map((check) => check.key);
    keys.push(quota.key);
    const reply = await runScript(this.#client, { script: multiLimitScript, sha }, keys, args, this.#timeoutMs);
    return parseReply(reply, checks.length, true);
  }

  /** The client belongs to the caller. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The quota counter a request also draws from, in `consumeWithQuota`. */
export interface QuotaCheck {
  readonly key: string;
  readonly limit: number;
  readonly enforcement: QuotaEnforcement;
  /** How long a counter created now lives (its period's end plus the retention). */
  readonly ttlMs: number;
}

function parseReply(reply: unknown, count: number, withQuota: boolean): { verdicts: LimitVerdict[]; quota: QuotaCount | null } {
  if (!Array.isArray(reply) || reply.length !== 2 + 4 * count + (withQuota ? 2 : 0) || !reply.every((value) => typeof value === "number")) {
    throw new Error(`unexpected reply from the rate limit script: ${JSON.stringify(reply)}`);
  }
  const numbers = reply;
  const verdicts: LimitVerdict[] = [];
  for (let index = 0; index < count; index++) {
    const at = 2 + 4 * index;
    verdicts.push({
      allowed: numbers[at] === 1,
      remaining: numbers[at + 1] as number,
      resetMs: numbers[at + 2] as number,
      retryAfterMs: numbers[at + 3] as number,
    });
  }
  if (!withQuota) return { verdicts, quota: null };
  const admitted = numbers[2 + 4 * count] as number;
  return { verdicts, quota: admitted === -1 ? null : { admitted: admitted === 1, used: numbers[3 + 4 * count] as number } };
}
