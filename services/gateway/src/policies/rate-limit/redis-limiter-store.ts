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

const script = { script: multiLimitScript, sha: createHash("sha1").update(multiLimitScript).digest("hex") };

/**
 * The most requests one script call decides. Redis serves nobody else while a script
 * runs (10-15 µs a request with two limits and a quota), so a batch this size holds
 * other clients for a millisecond at most.
 */
const maxBatchRequests = 64;

/** A request's answer: its verdicts, and its quota count when it had a quota and every limit allowed it. */
interface Decision {
  verdicts: LimitVerdict[];
  quota: QuotaCount | null;
}

interface Pending {
  readonly limits: number;
  readonly withQuota: boolean;
  readonly resolve: (decision: Decision) => void;
  readonly reject: (error: unknown) => void;
}

/** The requests of one script call: their keys and arguments in the script's layout, and who waits for each answer. */
class Batch {
  readonly keys: string[] = [];
  readonly args: (string | number)[];
  readonly pending: Pending[] = [];

  constructor(readonly now: number | "") {
    this.args = [now, 0];
  }
}

/**
 * Counters in Redis, shared by every gateway. The requests that reach the store in one
 * turn of the event loop are decided by one EVALSHA of the multi-limit script
 * (multi-limit-script.ts), sent at the end of the turn (`setImmediate`): the script
 * decides and commits them one by one, each request's limits atomically. One command
 * for a turn's requests costs Redis one script call, one clock read and one reply, and
 * costs this client one command instead of one each. At a low rate a turn holds one
 * request, and nothing changes but the wait for the rest of the turn.
 *
 * A timeout is not a cancellation: a script that was already sent may still run and
 * count the requests once Redis answers. That errs on the side of counting a request
 * the insurance store also counted, never of losing one.
 */
export class RedisLimiterStore implements LimiterStore {
  readonly #client: Redis;
  readonly #timeoutMs: number;
  readonly #clock: Pick<Clock, "epochMs"> | undefined;
  #open: Batch | null = null;
  #scheduled = false;

  constructor(options: RedisLimiterStoreOptions) {
    this.#client = options.client;
    this.#timeoutMs = options.timeoutMs ?? 50;
    this.#clock = options.clock;
  }

  consume(checks: readonly LimitCheck[], cost: number): Promise<readonly LimitVerdict[]> {
    return this.#enqueue(checks, cost, null).then((decision) => decision.verdicts);
  }

  /**
   * The rate limits and the quota counter of one request in one script call: the quota
   * is counted only when every limit allowed the request (then `quota` is null in the
   * answer when a limit refused). The counter's key and value are the ones the quota
   * store and the quota projector use (a plain integer, expiring `ttlMs` after it was
   * created).
   */
  consumeWithQuota(checks: readonly LimitCheck[], cost: number, quota: QuotaCheck): Promise<{ verdicts: readonly LimitVerdict[]; quota: QuotaCount | null }> {
    return this.#enqueue(checks, cost, quota);
  }

  /** The client belongs to the caller. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #enqueue(checks: readonly LimitCheck[], cost: number, quota: QuotaCheck | null): Promise<Decision> {
    const now = this.#clock === undefined ? "" : this.#clock.epochMs();
    // A batch shares one "now": a request at another instant (only with a test's clock)
    // starts the next batch, which is sent after this one.
    if (this.#open !== null && (this.#open.now !== now || this.#open.pending.length === maxBatchRequests)) this.#send();
    const batch = (this.#open ??= new Batch(now));
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#endOfTurn);
    }
    appendRequest(batch, checks, cost, quota);
    return new Promise<Decision>((resolve, reject) => {
      batch.pending.push({ limits: checks.length, withQuota: quota !== null, resolve, reject });
    });
  }

  readonly #endOfTurn = (): void => {
    this.#scheduled = false;
    if (this.#open !== null) this.#send();
  };

  #send(): void {
    const batch = this.#open as Batch;
    this.#open = null;
    batch.args[1] = batch.pending.length;
    const rejectAll = (error: unknown): void => {
      // A request already answered ignores the second settlement.
      for (const pending of batch.pending) pending.reject(error);
    };
    runScript(this.#client, script, batch.keys, batch.args, this.#timeoutMs).then((reply) => {
      try {
        settle(batch.pending, reply);
      } catch (error) {
        rejectAll(error);
      }
    }, rejectAll);
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

/** Adds one request's keys and arguments to a batch, in the script's layout (multi-limit-script.ts). */
function appendRequest(batch: Batch, checks: readonly LimitCheck[], cost: number, quota: QuotaCheck | null): void {
  const { keys, args } = batch;
  for (const check of checks) keys.push(check.key);
  if (quota === null) {
    args.push(cost, quotaCodes.none, 0, 0, checks.length);
  } else {
    keys.push(quota.key);
    args.push(cost, quotaCodes[quota.enforcement], quota.limit, Math.max(1, Math.ceil(quota.ttlMs)), checks.length);
  }
  for (const { shape } of checks) args.push(algorithmCodes[shape.algorithm], shape.points, shape.windowMs);
}

/** Hands each waiting request its part of the script's reply, or the error its own decision raised. */
function settle(batch: readonly Pending[], reply: unknown): void {
  if (!Buffer.isBuffer(reply)) {
    const error = new Error(`unexpected reply from the rate limit script: ${JSON.stringify(reply)}`);
    for (const pending of batch) pending.reject(error);
    return;
  }
  // Truncated toward zero, as Redis turns a Lua number into an integer reply.
  const number = (at: number): number => Math.trunc(reply.readDoubleBE(at));
  let offset = 0;
  for (let index = 0; index < batch.length; index++) {
    const pending = batch[index] as Pending;
    const length = 8 * (1 + 4 * pending.limits + (pending.withQuota ? 2 : 0));
    if (offset + 8 <= reply.length && reply.readDoubleBE(offset) === -2 && offset + 16 <= reply.length) {
      const messageLength = reply.readDoubleBE(offset + 8);
      const message = reply.toString("utf8", offset + 16, offset + 16 + messageLength);
      offset += 16 + messageLength;
      pending.reject(new Error(`the rate limit script failed for this request: ${message}`));
      continue;
    }
    if (offset + length > reply.length) {
      const error = new Error(`unexpected reply from the rate limit script: ${reply.length} bytes, request ${index + 1} of ${batch.length} needs bytes ${offset} to ${offset + length}`);
      for (let rest = index; rest < batch.length; rest++) (batch[rest] as Pending).reject(error);
      return;
    }
    const verdicts = new Array<LimitVerdict>(pending.limits);
    for (let limit = 0; limit < pending.limits; limit++) {
      const at = offset + 8 + 32 * limit;
      verdicts[limit] = { allowed: number(at) === 1, remaining: number(at + 8), resetMs: number(at + 16), retryAfterMs: number(at + 24) };
    }
    let quota: QuotaCount | null = null;
    if (pending.withQuota) {
      const at = offset + 8 + 32 * pending.limits;
      const admitted = number(at);
      quota = admitted === -1 ? null : { admitted: admitted === 1, used: number(at + 8) };
    }
    offset += length;
    pending.resolve({ verdicts, quota });
  }
}
