import { createHash } from "node:crypto";
import { quotaCounterKey } from "@tollgate/events";
import type { Redis } from "ioredis";
import type { UsageCounts } from "./quota-projection.js";

/**
 * Brings the gateways' shared quota counter of each (subscription, period) in line with
 * the log, in one atomic script per counter.
 *
 * The gateway adds one to the counter for every request it admits. The log later says
 * how many units the plan bills for them: none for a request it does not bill, and for a
 * WebSocket session billed per message or per minute (one event, at its close) its
 * messages or minutes, where the gateway took one unit at the handshake. So
 * `refunds = admitted - billable` in the projection, negative when sessions used more
 * than they took. The projector keeps, next to the counter, the refunds it has already
 * applied (`<counter>:refunded`), and applies only the difference:
 *
 *     counter -= refunds - refunded;   refunded = refunds
 *
 * The target is absolute and the step is one script, so running it twice, after a crash
 * or on every sweep, changes nothing the second time: exactly-once in effect without
 * any bookkeeping on the projector's side.
 *
 * Then a floor: the counter can never be below `billable`, because every billable
 * request in the log was admitted and counted. A counter below it has lost data (Redis
 * restarted without persistence, a failover to a replica that was behind) or missed
 * requests admitted in memory during an outage; the floor restores it. It restores the
 * log's count, not the requests still in flight (admitted, not yet in the log, or not
 * yet projected), so right after a data loss the counter can be short by at most the
 * requests admitted within one projection lag.
 *
 * KEYS: counter, refunded marker. ARGV: refunds target, billable (the floor), TTL in ms
 * for a counter that has to be created. Returns { before, after, refunds applied before }.
 */
export const reconcileScript = `
local target = tonumber(ARGV[1])
local floor = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local applied = tonumber(redis.call('GET', KEYS[2]) or '0')
local raw = redis.call('GET', KEYS[1])
local before = tonumber(raw or '0')
local after = before - (target - applied)
if after < floor then after = floor end
if raw then
  if after ~= before then redis.call('SET', KEYS[1], after, 'KEEPTTL') end
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 then ttl = left end
elseif after ~= 0 then
  redis.call('SET', KEYS[1], after, 'PX', ttl)
end
redis.call('SET', KEYS[2], target, 'PX', ttl)
return { before, after, applied }
`;

const sha = createHash("sha1").update(reconcileScript).digest("hex");

export interface CounterReconciliation {
  readonly key: string;
  readonly before: number;
  readonly after: number;
  /** Units this run took off the counter: refunds of requests the plans do not bill. */
  readonly refunded: number;
  /**
   * Units this run added because the log billed more than the gateway took: WebSocket
   * sessions billed per message or per minute (the gateway took one unit each). The script
   * sees one target per counter, so refunds and charges logged between two runs are netted:
   * a run either refunds or charges.
   */
  readonly charged: number;
  /**
   * Units this run added beyond those: what the counter had lost (data loss, requests
   * admitted in memory during an outage). What the counter really did is `after - before`
   * = `charged + restored - refunded`, and at most one of `refunded` and the other two is
   * not 0.
   */
  readonly restored: number;
}

export interface RedisQuotaReconcilerOptions {
  client: Redis;
  /** The gateways' quota keyPrefix. Default `tollgate:quota:`. */
  keyPrefix?: string;
  /** How long a counter outlives its period; the gateways' retentionDays. Default 7 days. */
  retentionMs?: number;
  clock?: () => number;
}

/** The thin adapter between the projection's usage rows and the gateways' Redis counters. */
export class RedisQuotaReconciler {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #retentionMs: number;
  readonly #clock: () => number;

  constructor(options: RedisQuotaReconcilerOptions) {
    this.#client = options.client;
    this.#prefix = options.keyPrefix ?? "tollgate:quota:";
    this.#retentionMs = options.retentionMs ?? 7 * 86_400_000;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * The gateway's key for a usage row's counter: quotaCounterKey, the one definition both
   * services use. The row's period is already the subscription's anchored window (the
   * projection computed it with quotaWindow and the billing anchor), so the key names the
   * counter the gateway incremented.
   */
  counterKey(usage: Pick<UsageCounts, "subscriptionId" | "period" | "periodStart" | "periodEnd">): string {
    return quotaCounterKey(this.#prefix, usage.subscriptionId, { period: usage.period, start: usage.periodStart, end: usage.periodEnd });
  }

  /** Reconciles the counters of rows that have a quota and whose counter may still exist. */
  async reconcile(rows: readonly UsageCounts[]): Promise<CounterReconciliation[]> {
    const now = this.#clock();
    const due = rows.filter((row) => row.quota !== null && row.periodEnd + this.#retentionMs > now);
    const results: CounterReconciliation[] = [];
    // Commands issued together are written back to back on one connection: a pipeline.
    for (let at = 0; at < due.length; at += 500) {
      results.push(...(await Promise.all(due.slice(at, at + 500).map((row) => this.#one(row, now)))));
    }
    return results;
  }

  async #one(row: UsageCounts, now: number): Promise<CounterReconciliation> {
    const key = this.counterKey(row);
    const refunds = row.admitted - row.billable;
    const args = [refunds, row.billable, Math.max(1, row.periodEnd + this.#retentionMs - now)];
    let reply: unknown;
    try {
      reply = await this.#client.evalsha(sha, 2, key, `${key}:refunded`, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      reply = await this.#client.eval(reconcileScript, 2, key, `${key}:refunded`, ...args);
    }
    if (!Array.isArray(reply) || reply.length !== 3 || !reply.every((value) => typeof value === "number")) {
      throw new Error(`unexpected reply from the reconcile script: ${JSON.stringify(reply)}`);
    }
    const [before, after, applied] = reply as [number, number, number];
    // What the log's step asked for: positive, units the sessions used beyond what the gateway took.
    const charged = Math.max(0, applied - refunds);
    const change = after - before;
    // The floor can only raise the counter, so with a charge the counter rose by at least the charge.
    if (charged > 0) return { key, before, after, refunded: 0, charged, restored: change - charged };
    return { key, before, after, refunded: Math.max(0, -change), charged: 0, restored: Math.max(0, change) };
  }
}
