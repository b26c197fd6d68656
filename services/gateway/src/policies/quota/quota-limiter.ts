import { quotaCounterKey, quotaWindow, type Quota, type QuotaPeriod, type QuotaWindow } from "@tollgate/events";
import type { Logger } from "@tollgate/observability";
import { systemClock, type Clock } from "../../clock.js";
import type { StoreFailureMode } from "../rate-limit/rate-limit-policy-config.js";
import type { QuotaCount, QuotaCounterStore } from "./quota-counter-store.js";
import type { MemoryQuotaCounterStore } from "./memory-quota-counter-store.js";
import { quotaHeaders } from "./quota-headers.js";

/** Whose quota a request draws from, as the authorization stage resolved it. */
export interface QuotaSubject {
  readonly subscriptionId: string;
  /** The plan's quota. */
  readonly quota: Quota;
  /** The subscription's billing anchor (epoch ms), when it has one: periods are aligned to it. */
  readonly billingAnchor?: number | null;
}

/**
 * admitted: within the quota, and counted.
 * overage: past the quota on a plan that allows overage: admitted, counted, billed later.
 * exceeded: past a hard quota: refused (429), and not counted.
 * unavailable: the shared store is unreachable and the route fails closed (503).
 */
export type QuotaOutcome = "admitted" | "overage" | "exceeded" | "unavailable";

export interface QuotaDecision {
  readonly outcome: QuotaOutcome;
  readonly allowed: boolean;
  /** The quota's name in 429s, RequestRejected.limit and metrics: `daily-quota` or `monthly-quota`. */
  readonly name: string;
  readonly limit: number;
  /** Requests counted in the period so far, this one included when it was counted. */
  readonly used: number;
  readonly remaining: number;
  readonly window: QuotaWindow;
  /** Seconds until the period ends. */
  readonly resetSeconds: number;
  /** store: the shared counter decided; insurance: this gateway's memory, while the store was unreachable; none: failed closed. */
  readonly decidedBy: "store" | "insurance" | "none";
  readonly retryAfterSeconds: number | null;
  /** Quota-Limit, Quota-Remaining, Quota-Reset; Retry-After when refused. Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface QuotaConsumeOptions {
  /** The instant the request is counted at (its startedAt), which picks the period. Default: now. */
  at?: number;
  cost?: number;
  onStoreFailure?: StoreFailureMode;
}

export interface QuotaMetricsSink {
  decided(decision: QuotaDecision): void;
  storeFailed(): void;
}

export interface QuotaLimiterOptions {
  store: QuotaCounterStore;
  /** Decides while `store` fails, for routes that fail open. Absent when `store` is itself in memory. */
  insurance?: MemoryQuotaCounterStore;
  /** While the store is down, each gateway admits at most 1/divisor of what it last saw remaining. Default 1. */
  insuranceDivisor?: number;
  /** Default `tollgate:quota:`; the quota projector must use the same. */
  keyPrefix?: string;
  /** How long a counter outlives its period, for late reconciliation and for usage views. Default 7 days. */
  retentionMs?: number;
  onStoreFailure?: StoreFailureMode;
  retryStoreAfterMs?: number;
  clock?: Pick<Clock, "epochMs">;
  logger?: Logger;
  metrics?: QuotaMetricsSink;
}

interface Seen {
  used: number;
  expiresAt: number;
}

/**
 * Per-subscription, per-period quotas on a shared atomic counter.
 *
 * Every gateway counts against the same counter (Redis), so the quota is exact across
 * gateways: two of them can never both take the last unit. The quota projector later
 * feeds the event log's truth back into the counter: it refunds requests the plan does
 * not bill (gateway failures, say), and restores the counter after Redis loses data.
 *
 * While Redis is unreachable, a route that fails open counts in this gateway's memory,
 * starting from the last value Redis gave for that counter and allowing at most
 * 1/divisor of what was left (the possible overshoot, bounded and counted); the
 * projector folds those requests into the shared counter once Redis is back and they
 * are in the log. A route that fails closed is refused with 503.
 */
export class QuotaLimiter {
  readonly #store: QuotaCounterStore;
  readonly #insurance: MemoryQuotaCounterStore | undefined;
  readonly #divisor: number;
  readonly #prefix: string;
  readonly #retentionMs: number;
  readonly #defaultMode: StoreFailureMode;
  readonly #retryAfterMs: number;
  readonly #clock: Pick<Clock, "epochMs">;
  readonly #logger: Logger | undefined;
  readonly #metrics: QuotaMetricsSink | undefined;
  /** The last value the store gave per counter: where the insurance store starts from. */
  readonly #lastSeen = new Map<string, Seen>();
  /** Each subscription's current period and counter key: the same for every request until the period ends. */
  readonly #currentPeriod = new Map<string, { window: QuotaWindow; key: string; period: QuotaPeriod; anchor: number | null }>();
  /** The insurance limit per counter, fixed when the counter is first decided in memory. */
  readonly #insuranceLimits = new Map<string, number>();
  #storeDownUntil = 0;
  #outage: { startedAt: number; failures: number; admittedInMemory: number; refused: number } | null = null;
  #decisionsSinceSweep = 0;

  constructor(options: QuotaLimiterOptions) {
    this.#store = options.store;
    this.#insurance = options.insurance;
    this.#divisor = options.insuranceDivisor ?? 1;
    this.#prefix = options.keyPrefix ?? "tollgate:quota:";
    this.#retentionMs = options.retentionMs ?? 7 * 86_400_000;
    this.#defaultMode = options.onStoreFailure ?? "open";
    this.#retryAfterMs = options.retryStoreAfterMs ?? 1_000;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    if (!Number.isInteger(this.#divisor) || this.#divisor < 1) throw new RangeError("insuranceDivisor must be a positive integer");
  }

  /** The period a request at `at` falls in. */
  windowFor(subject: QuotaSubject, at: number = this.#clock.epochMs()): QuotaWindow {
    return quotaWindow(at, subject.quota.period, subject.billingAnchor ?? null);
  }

  /** The period and counter key of a request at `at`, from the subscription's cached current period when it still applies. */
  #current(subject: QuotaSubject, at: number): { window: QuotaWindow; key: string } {
    const anchor = subject.billingAnchor ?? null;
    const cached = this.#currentPeriod.get(subject.subscriptionId);
    if (cached !== undefined && cached.period === subject.quota.period && cached.anchor === anchor && at >= cached.window.start && at < cached.window.end) {
      return cached;
    }
    const window = this.windowFor(subject, at);
    const entry = { window, key: this.counterKey(subject.subscriptionId, window), period: subject.quota.period, anchor };
    // A request from an earlier period (a late one) is answered but does not replace the current one.
    if (cached === undefined || window.start >= cached.window.start) this.#currentPeriod.set(subject.subscriptionId, entry);
    return entry;
  }

  /** The Redis (or memory) key of a subscription's counter for a period. */
  counterKey(subscriptionId: string, window: QuotaWindow): string {
    return quotaCounterKey(this.#prefix, subscriptionId, window);
  }

  /**
   * Counts one request against its subscription's quota. Synchronous on the memory
   * store (and while the shared store is known to be down); a Promise with Redis. Never
   * rejects for a store failure: that becomes an insurance decision or `unavailable`.
   */
  consume(subject: QuotaSubject, options: QuotaConsumeOptions = {}): QuotaDecision | Promise<QuotaDecision> {
    const prepared = this.prepare(subject, options);
    if (!(prepared instanceof PreparedQuota)) return prepared;
    let answer: QuotaCount | Promise<QuotaCount>;
    try {
      answer = this.#store.consume(prepared.key, prepared.cost, subject.quota.limit, subject.quota.enforcement, prepared.expiresAt);
    } catch (error) {
      return this.fail(prepared, error);
    }
    if (!(answer instanceof Promise)) return this.#finish(subject, prepared.window, answer, "store");
    return answer.then(
      (count) => this.settle(prepared, count),
      (error: unknown) => this.fail(prepared, error),
    );
  }

  /**
   * The first half of `consume`, for a caller that asks the store itself (the combined
   * limits step, which sends the rate limits and the quota in one Redis call): the
   * request's counter, or the decision when the store is known to be down. The caller
   * then hands the store's answer to `settle`, or its failure to `fail`.
   */
  prepare(subject: QuotaSubject, options: QuotaConsumeOptions = {}): PreparedQuota | QuotaDecision {
    const now = this.#clock.epochMs();
    const { window, key } = this.#current(subject, options.at ?? now);
    const cost = options.cost ?? 1;
    const expiresAt = window.end + this.#retentionMs;
    const mode = options.onStoreFailure ?? this.#defaultMode;
    if ((this.#decisionsSinceSweep += 1) >= 10_000) this.#sweep(now);
    if (this.#storeDownUntil > now) return this.#withoutStore(subject, window, key, cost, expiresAt, mode);
    return new PreparedQuota(subject, window, key, cost, expiresAt, mode);
  }

  /** True while quotas are decided without the shared store, until it is tried again. */
  storeKnownDown(): boolean {
    // 0 until the store first fails: until then, asked on every request, it costs no clock read.
    return this.#storeDownUntil !== 0 && this.#storeDownUntil > this.#clock.epochMs();
  }

  /** The limiter's clock. */
  now(): number {
    return this.#clock.epochMs();
  }

  /** The store counted a prepared request. */
  settle(prepared: PreparedQuota, count: QuotaCount): QuotaDecision {
    this.#storeAnswered();
    this.#lastSeen.set(prepared.key, { used: count.used, expiresAt: prepared.expiresAt });
    return this.#finish(prepared.subject, prepared.window, count, "store");
  }

  /** The store failed a prepared request: the insurance store decides, or the route fails closed. */
  fail(prepared: PreparedQuota, error: unknown): QuotaDecision {
    this.#storeFailed(error);
    return this.#withoutStore(prepared.subject, prepared.window, prepared.key, prepared.cost, prepared.expiresAt, prepared.mode);
  }

  /** Gives back `n` requests of a period (requests that turned out not to count). */
  refund(subscriptionId: string, window: QuotaWindow, n: number): Promise<number> {
    return this.#store.refund(this.counterKey(subscriptionId, window), n, window.end + this.#retentionMs);
  }

  /** Sets a period's counter to `used` (what the event log says was used). */
  set(subscriptionId: string, window: QuotaWindow, used: number): Promise<void> {
    return this.#store.set(this.counterKey(subscriptionId, window), used, window.end + this.#retentionMs);
  }

  /** A period's counter, as the gateways see it. */
  used(subscriptionId: string, window: QuotaWindow): Promise<number> {
    return this.#store.get(this.counterKey(subscriptionId, window));
  }

  #withoutStore(
    subject: QuotaSubject,
    window: QuotaWindow,
    key: string,
    cost: number,
    expiresAt: number,
    mode: StoreFailureMode,
  ): QuotaDecision {
    const insurance = this.#insurance;
    if (mode === "closed" || insurance === undefined) {
      if (this.#outage) this.#outage.refused += 1;
      const retryAfterSeconds = Math.max(1, Math.ceil(this.#retryAfterMs / 1_000));
      const decision: QuotaDecision = {
        outcome: "unavailable",
        allowed: false,
        name: quotaName(subject.quota),
        limit: subject.quota.limit,
        used: 0,
        remaining: 0,
        window,
        resetSeconds: this.#resetSeconds(window),
        decidedBy: "none",
        retryAfterSeconds,
        headers: { "retry-after": String(retryAfterSeconds) },
      };
      this.#metrics?.decided(decision);
      return decision;
    }
    let limit = this.#insuranceLimits.get(key);
    if (limit === undefined) {
      const seen = this.#lastSeen.get(key)?.used ?? 0;
      limit = seen + Math.floor(Math.max(0, subject.quota.limit - seen) / this.#divisor);
      this.#insuranceLimits.set(key, limit);
      insurance.seed(key, seen, expiresAt);
    }
    const count = insurance.consume(key, cost, limit, subject.quota.enforcement, expiresAt);
    const decision = this.#finish(subject, window, count, "insurance");
    if (this.#outage && decision.allowed) this.#outage.admittedInMemory += 1;
    return decision;
  }

  #finish(subject: QuotaSubject, window: QuotaWindow, count: QuotaCount, decidedBy: "store" | "insurance"): QuotaDecision {
    const { limit, enforcement } = subject.quota;
    const outcome: QuotaOutcome = !count.admitted ? "exceeded" : count.used > limit && enforcement === "overage" ? "overage" : "admitted";
    const resetSeconds = this.#resetSeconds(window);
    const remaining = Math.max(0, limit - count.used);
    const retryAfterSeconds = count.admitted ? null : Math.max(1, resetSeconds);
    const decision: QuotaDecision = {
      outcome,
      allowed: count.admitted,
      name: quotaName(subject.quota),
      limit,
      used: count.used,
      remaining,
      window,
      resetSeconds,
      decidedBy,
      retryAfterSeconds,
      headers: quotaHeaders(limit, remaining, resetSeconds, retryAfterSeconds),
    };
    this.#metrics?.decided(decision);
    return decision;
  }

  #resetSeconds(window: QuotaWindow): number {
    return Math.max(0, Math.ceil((window.end - this.#clock.epochMs()) / 1_000));
  }

  #storeFailed(error: unknown): void {
    const now = this.#clock.epochMs();
    this.#storeDownUntil = now + this.#retryAfterMs;
    this.#metrics?.storeFailed();
    if (this.#outage) {
      this.#outage.failures += 1;
      return;
    }
    this.#outage = { startedAt: now, failures: 1, admittedInMemory: 0, refused: 0 };
    this.#logger?.warn(
      { err: error, insurance: this.#insurance !== undefined, insuranceDivisor: this.#divisor, retryAfterMs: this.#retryAfterMs },
      "quota store unavailable: routes that fail open count quotas in memory from the last value seen, routes that fail closed are refused",
    );
  }

  #storeAnswered(): void {
    const outage = this.#outage;
    if (outage === null) return;
    this.#outage = null;
    // The shared counter is authoritative again. What was admitted in memory reaches it
    // through the quota projector, from the log.
    this.#insurance?.clear();
    this.#insuranceLimits.clear();
    this.#logger?.warn(
      { outageMs: this.#clock.epochMs() - outage.startedAt, failures: outage.failures, admittedInMemory: outage.admittedInMemory, refusedUnavailable: outage.refused },
      "quota store answers again; requests admitted in memory during the outage reach the shared counters through the quota projector",
    );
  }

  #sweep(now: number): void {
    for (const [subscriptionId, current] of this.#currentPeriod) if (current.window.end <= now) this.#currentPeriod.delete(subscriptionId);
    this.#decisionsSinceSweep = 0;
    for (const [key, seen] of this.#lastSeen) if (seen.expiresAt <= now) this.#lastSeen.delete(key);
    this.#insurance?.sweep();
  }
}

/** A request's quota counter between `prepare` and `settle` or `fail`. */
export class PreparedQuota {
  constructor(
    readonly subject: QuotaSubject,
    readonly window: QuotaWindow,
    readonly key: string,
    readonly cost: number,
    /** Epoch ms when the counter may be dropped. */
    readonly expiresAt: number,
    readonly mode: StoreFailureMode,
  ) {}
}

/** `daily-quota` or `monthly-quota`. */
export function quotaName(quota: Quota): string {
  return quota.period === "day" ? "daily-quota" : "monthly-quota";
}
