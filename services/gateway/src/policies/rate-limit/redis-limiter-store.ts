import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { Clock } from "../../clock.js";
import type { LimitCheck, LimitVerdict, LimiterStore } from "./limiter-store.js";
import { algorithmCodes, multiLimitScript } from "./multi-limit-script.js";
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
    const args: (string | number)[] = [this.#clock === undefined ? "" : this.#clock.epochMs(), cost];
    for (const { shape } of checks) args.push(algorithmCodes[shape.algorithm], shape.points, shape.windowMs);
    const reply = await runScript(this.#client, { script: multiLimitScript, sha }, checks.map((check) => check.key), args, this.#timeoutMs);
    return parseReply(reply, checks.length);
  }

  /** The client belongs to the caller. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function parseReply(reply: unknown, count: number): LimitVerdict[] {
  if (!Array.isArray(reply) || reply.length !== 2 + 4 * count || !reply.every((value) => typeof value === "number")) {
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
  return verdicts;
}
