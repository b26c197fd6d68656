import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { Clock } from "../../clock.js";
import type { QuotaCount, QuotaEnforcement } from "../quota/quota-counter-store.js";
import type { LimitCheck, LimitVerdict, LimiterStore } from "./limiter-store.js";
import { algorithmCodes, multiLimitScript, quotaCodes } from "./multi-limit-script.js";
import { runScript } from "./run-script.js";
import { TurnWriteCoalescer } from "./turn-write-coalescer.js";

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

const script = { script: multiLimitScript, sha: createHash("sha1").update(multiLimitScript).digest("hex") };

/**
 * Counters in Redis, shared by every gateway. Each request is one EVALSHA of the
 * multi-limit script (multi-limit-script.ts), which decides and commits all of the
 * request's limits atomically. The EVALSHAs of one turn of the event loop leave
 * together (TurnWriteCoalescer).
 *
 * A timeout is not a cancellation: a script that was already sent may still run and
 * count the request once Redis answers. That errs on the side of counting a request
 * the insurance store also counted, never of losing one.
 */
export class RedisLimiterStore implements LimiterStore {
  readonly #client: Redis;
  readonly #timeoutMs: number;
  readonly #clock: Pick<Clock, "epochMs"> | undefined;
  readonly #writes: TurnWriteCoalescer;

  constructor(options: RedisLimiterStoreOptions) {
    this.#client = options.client;
    this.#writes = new TurnWriteCoalescer(options.client);
    this.#timeoutMs = options.timeoutMs ?? 50;
    this.#clock = options.clock;
  }

  consume(checks: readonly LimitCheck[], cost: number): Promise<readonly LimitVerdict[]> {
    const args = scriptArgs(this.#clock === undefined ? "" : this.#clock.epochMs(), cost, quotaCodes.none, 0, 0, checks);
    this.#writes.hold();
    return runScript(this.#client, script, scriptKeys(checks, null), args, this.#timeoutMs).then((reply) => parseReply(reply, checks.length, false).verdicts);
  }

  /**
   * The rate limits and the quota counter of one request in one script call: the quota
   * is counted only when every limit allowed the request (then `quota` is null in the
   * answer when a limit refused). The counter's key and value are the ones the quota
   * store and the quota projector use (a plain integer, expiring `ttlMs` after it was
   * created).
   */
  consumeWithQuota(checks: readonly LimitCheck[], cost: number, quota: QuotaCheck): Promise<{ verdicts: readonly LimitVerdict[]; quota: QuotaCount | null }> {
    const now = this.#clock === undefined ? "" : this.#clock.epochMs();
    const args = scriptArgs(now, cost, quotaCodes[quota.enforcement], quota.limit, Math.max(1, Math.ceil(quota.ttlMs)), checks);
    this.#writes.hold();
    return runScript(this.#client, script, scriptKeys(checks, quota.key), args, this.#timeoutMs).then((reply) => parseReply(reply, checks.length, true));
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

/**
 * The script's KEYS and ARGV (see multi-limit-script.ts), built on every request: in
 * arrays of their final length, since one grown by push starts with room for 16.
 */
function scriptKeys(checks: readonly LimitCheck[], quotaKey: string | null): string[] {
  const keys = new Array<string>(checks.length + (quotaKey === null ? 0 : 1));
  for (let index = 0; index < checks.length; index++) keys[index] = (checks[index] as LimitCheck).key;
  if (quotaKey !== null) keys[checks.length] = quotaKey;
  return keys;
}

function scriptArgs(now: number | "", cost: number, quotaCode: number, quotaLimit: number, quotaTtlMs: number, checks: readonly LimitCheck[]): (string | number)[] {
  const args = new Array<string | number>(5 + 3 * checks.length);
  args[0] = now;
  args[1] = cost;
  args[2] = quotaCode;
  args[3] = quotaLimit;
  args[4] = quotaTtlMs;
  for (let index = 0; index < checks.length; index++) {
    const { shape } = checks[index] as LimitCheck;
    args[5 + 3 * index] = algorithmCodes[shape.algorithm];
    args[6 + 3 * index] = shape.points;
    args[7 + 3 * index] = shape.windowMs;
  }
  return args;
}

function parseReply(reply: unknown, count: number, withQuota: boolean): { verdicts: LimitVerdict[]; quota: QuotaCount | null } {
  const length = 2 + 4 * count + (withQuota ? 2 : 0);
  if (!Buffer.isBuffer(reply) || reply.length !== 8 * length) {
    throw new Error(`unexpected reply from the rate limit script: ${Buffer.isBuffer(reply) ? `${reply.length} bytes, expected ${8 * length}` : JSON.stringify(reply)}`);
  }
  // Truncated toward zero, as Redis turns a Lua number into an integer reply.
  const number = (index: number): number => Math.trunc(reply.readDoubleBE(8 * index));
  const verdicts = new Array<LimitVerdict>(count);
  for (let index = 0; index < count; index++) {
    const at = 2 + 4 * index;
    verdicts[index] = {
      allowed: number(at) === 1,
      remaining: number(at + 1),
      resetMs: number(at + 2),
      retryAfterMs: number(at + 3),
    };
  }
  if (!withQuota) return { verdicts, quota: null };
  const admitted = number(2 + 4 * count);
  return { verdicts, quota: admitted === -1 ? null : { admitted: admitted === 1, used: number(3 + 4 * count) } };
}
