import type { Logger } from "@tollgate/observability";
import { systemClock, type Clock } from "../../clock.js";
import type { LimitShape } from "./evaluate-limit.js";
import type { LimitCheck, LimitVerdict, LimiterStore } from "./limiter-store.js";
import type { MemoryLimiterStore } from "./memory-limiter-store.js";
import type { StoreFailureMode } from "./rate-limit-policy-config.js";
import { rateLimitKey, type RateLimitRule, type RateLimitSubject } from "./rate-limit-rule.js";
import { rateLimitHeaders, rateLimitPolicy } from "./rate-limit-headers.js";

/** One limit's state after a decision, for headers, logs and tests. */
export interface RateLimitReport {
  readonly name: string;
  /** Points the limit allows per window (the insurance share while Redis is down). */
  readonly limit: number;
  readonly windowSeconds: number;
  readonly allowed: boolean;
  readonly remaining: number;
  readonly resetSeconds: number;
  /** 0 when this limit allowed the request. */
  readonly retryAfterSeconds: number;
}

/**
 * admitted: every limit allowed the request, and it was counted against all of them.
 * limited: at least one limit refused it (429), and it was counted against none.
 * unavailable: the shared store is unreachable and the route fails closed (503).
 */
export type RateLimitOutcome = "admitted" | "limited" | "unavailable";

export interface RateLimitDecision {
  readonly outcome: RateLimitOutcome;
  readonly allowed: boolean;
  /** The limit that fired: of the limits that refused, the one that frees up last. Null unless limited. */
  readonly limit: string | null;
  /** Every limit that refused, in rule order. */
  readonly rejectedBy: readonly string[];
  /** store: the shared store decided; insurance: the in-memory limiter, while the store was unreachable; none: no limit applied, or the route failed closed. */
  readonly decidedBy: "store" | "insurance" | "none";
  /** Seconds the client should wait; null when admitted. */
  readonly retryAfterSeconds: number | null;
  readonly reports: readonly RateLimitReport[];
  /** RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset and RateLimit-Policy; Retry-After when refused. Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface RateLimitDecideOptions {
  /** The route's choice while the store is unreachable; the limiter's default when absent. */
  onStoreFailure?: StoreFailureMode;
  /** Points this request costs against every limit. Default 1. */
  cost?: number;
}

/** Where a limiter reports what it decided; RateLimitMetrics implements it with Prometheus counters. */
export interface RateLimitMetricsSink {
  decided(routeId: string, decision: RateLimitDecision): void;
  storeFailed(): void;
}

export interface MultiLimiterOptions {
  /** The store that decides normally: memory for one gateway, Redis for several. */
  store: LimiterStore;
  /**
   * Decides while `store` fails, for routes that fail open. Absent when `store` is
   * itself in memory: a memory store does not fail.
   */
  insurance?: MemoryLimiterStore;
  /** While the store is down, each gateway allows floor(points / divisor) per window. Default 1. */
  insurancePointsDivisor?: number;
  /** Default `tollgate:rl:`. */
  keyPrefix?: string;
  /** Default for routes that do not choose. Default "open". */
  onStoreFailure?: StoreFailureMode;
  /** After a store failure, decide without the store for this long before trying it again. Default 1,000 ms. */
  retryStoreAfterMs?: number;
  clock?: Pick<Clock, "epochMs">;
  logger?: Logger;
  metrics?: RateLimitMetricsSink;
}

/** What happened since the store became unreachable; logged when it answers again. */
interface Outage {
  startedAt: number;
  failures: number;
  admittedInMemory: number;
  limitedInMemory: number;
  refused: number;
}

const noLimits: RateLimitDecision = Object.freeze({
  outcome: "admitted",
  allowed: true,
  limit: null,
  rejectedBy: [],
  decidedBy: "none",
  retryAfterSeconds: null,
  reports: [],
  headers: {},
});

/** `rejectedBy` of every decision no limit refused. */
const noneRejected: readonly string[] = Object.freeze([]);

/** RateLimit-Policy by rule list (see MultiLimiter's #finish). */
const policies = new WeakMap<readonly RateLimitRule[], string>();

/**
 * Decides all of a request's rate limits together (for example 10/s and 1000/h, from
 * the plan and the route) and counts the request against all of them or none.
 *
 * Why not rate-limiter-flexible's RateLimiterUnion: it consumes from every limiter even
 * when one rejects, so a burst refused by the per-second limit still drains the hourly
 * one (measured: 5 of 20 admitted, 20 points gone from the hourly limit). Consuming
 * and then refunding with reward() closes that hole only eventually: until the refund
 * lands, other requests see the inflated counter and can be refused wrongly. Here the
 * store decides every limit and commits all of them, or none, in one atomic step (a
 * synchronous pass in memory, one Lua script in Redis), so a refused request never
 * touches any counter, not even for a moment.
 *
 * While the shared store is unreachable, a route that fails open is decided by the
 * in-memory insurance store (each gateway on its own, so the shared limit can be
 * exceeded: that overshoot is bounded by the insurance share and counted), and a route
 * that fails closed is refused with 503. The store is tried again every
 * `retryStoreAfterMs`, so a dead Redis costs one failed call per interval, not one per
 * request.
 */
export class MultiLimiter {
  readonly #store: LimiterStore;
  readonly #insurance: MemoryLimiterStore | undefined;
  readonly #divisor: number;
  readonly #prefix: string;
  readonly #defaultMode: StoreFailureMode;
  readonly #retryAfterMs: number;
  readonly #clock: Pick<Clock, "epochMs">;
  readonly #logger: Logger | undefined;
  readonly #metrics: RateLimitMetricsSink | undefined;
  /** Each rule's checks by the id its key ends with (see #check). */
  readonly #checksByRule = new WeakMap<RateLimitRule, Map<string, LimitCheck>>();
  #storeDownUntil = 0;
  #outage: Outage | null = null;

  constructor(options: MultiLimiterOptions) {
    this.#store = options.store;
    this.#insurance = options.insurance;
    this.#divisor = options.insurancePointsDivisor ?? 1;
    this.#prefix = options.keyPrefix ?? "tollgate:rl:";
    this.#defaultMode = options.onStoreFailure ?? "open";
    this.#retryAfterMs = options.retryStoreAfterMs ?? 1_000;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    if (!Number.isInteger(this.#divisor) || this.#divisor < 1) throw new RangeError("insurancePointsDivisor must be a positive integer");
  }

  /**
   * Decides `rules` for one request. Synchronous with a memory store (and while the
   * shared store is known to be down); a Promise with Redis. Never rejects for a store
   * failure: that becomes an insurance decision or an `unavailable` outcome.
   */
  decide(rules: readonly RateLimitRule[], subject: RateLimitSubject, options: RateLimitDecideOptions = {}): RateLimitDecision | Promise<RateLimitDecision> {
    const prepared = this.prepare(rules, subject, options);
    if (!(prepared instanceof PreparedLimits)) return prepared;
    let answer: readonly LimitVerdict[] | Promise<readonly LimitVerdict[]>;
    try {
      answer = this.#store.consume(prepared.checks, prepared.cost);
    } catch (error) {
      return this.fail(prepared, error);
    }
    if (!(answer instanceof Promise)) return this.#finish(rules, answer, "store", subject.routeId);
    return answer.then(
      (verdicts) => this.settle(prepared, verdicts),
      (error: unknown) => this.fail(prepared, error),
    );
  }

  /**
   * The first half of `decide`, for a caller that asks the store itself (the combined
   * limits step, which sends the quota in the same Redis call): the request's counters,
   * or the decision when none is needed from the store (no rule, or the store is known
   * to be down). The caller then hands the store's answer to `settle`, or its failure to
   * `fail`.
   */
  prepare(rules: readonly RateLimitRule[], subject: RateLimitSubject, options: RateLimitDecideOptions = {}): PreparedLimits | RateLimitDecision {
    if (rules.length === 0) return noLimits;
    const cost = options.cost ?? 1;
    const checks = this.#checks(rules, subject);
    const mode = options.onStoreFailure ?? this.#defaultMode;
    // 0 until the store first fails: a store that never did (the memory store) costs no clock read here.
    if (this.#storeDownUntil !== 0 && this.#storeDownUntil > this.#clock.epochMs()) return this.#withoutStore(rules, checks, cost, mode, subject.routeId);
    return new PreparedLimits(rules, checks, cost, mode, subject.routeId);
  }

  /** The store answered a prepared request. */
  settle(prepared: PreparedLimits, verdicts: readonly LimitVerdict[]): RateLimitDecision {
    this.#storeAnswered();
    return this.#finish(prepared.rules, verdicts, "store", prepared.routeId);
  }

  /** The store failed a prepared request: the insurance store decides, or the route fails closed. */
  fail(prepared: PreparedLimits, error: unknown): RateLimitDecision {
    this.#storeFailed(error, prepared.mode);
    return this.#withoutStore(prepared.rules, prepared.checks, prepared.cost, prepared.mode, prepared.routeId);
  }

  /** True while decisions are made without the shared store. */
  get storeDown(): boolean {
    return this.#outage !== null;
  }

  #checks(rules: readonly RateLimitRule[], subject: RateLimitSubject): LimitCheck[] {
    // Of its final length: an array grown by push starts with room for 16, on every request.
    const checks = new Array<LimitCheck>(rules.length);
    for (let index = 0; index < rules.length; index++) {
      const rule = rules[index] as RateLimitRule;
      const check = this.#check(rule, subject);
      // The same counter twice in one atomic step would be read twice and written once.
      for (let earlier = 0; earlier < index; earlier++) {
        if ((checks[earlier] as LimitCheck).key === check.key) throw new Error(`rate limit rules must be distinct: ${rules.map((r) => `${r.source}/${r.name}`).join(", ")}`);
      }
      checks[index] = check;
    }
    return checks;
  }

  /**
   * A rule's check for a subject. A key whose only variable part is a consumer, plan or
   * route id (ids the identity index and the config bound) is kept and reused: a key
   * built for each request is a new string, which the store's Map must hash and compare
   * character by character (measured: most of the memory store's time per request),
   * where a kept one has its hash already. Keys by client IP, which any caller can vary,
   * are built each time. A rule keeps at most `maxKeptChecks`, dropped all at once.
   */
  #check(rule: RateLimitRule, subject: RateLimitSubject): LimitCheck {
    const id = keptKeyId(rule, subject);
    if (id === null) return { key: rateLimitKey(this.#prefix, rule, subject), shape: shapeOf(rule) };
    let kept = this.#checksByRule.get(rule);
    if (kept === undefined) {
      kept = new Map();
      this.#checksByRule.set(rule, kept);
    }
    let check = kept.get(id);
    if (check === undefined) {
      check = { key: rateLimitKey(this.#prefix, rule, subject), shape: shapeOf(rule) };
      if (kept.size >= maxKeptChecks) kept.clear();
      kept.set(id, check);
    }
    return check;
  }

  #withoutStore(
    rules: readonly RateLimitRule[],
    checks: readonly LimitCheck[],
    cost: number,
    mode: StoreFailureMode,
    routeId: string,
  ): RateLimitDecision {
    const outage = this.#outage;
    if (mode === "closed" || this.#insurance === undefined) {
      if (outage) outage.refused += 1;
      const retryAfterSeconds = Math.max(1, Math.ceil(this.#retryAfterMs / 1_000));
      const decision: RateLimitDecision = {
        outcome: "unavailable",
        allowed: false,
        limit: null,
        rejectedBy: [],
        decidedBy: "none",
        retryAfterSeconds,
        reports: [],
        headers: { "retry-after": String(retryAfterSeconds) },
      };
      this.#metrics?.decided(routeId, decision);
      return decision;
    }
    const shared = checks.map((check) => ({
      key: check.key,
      shape: { ...check.shape, points: Math.max(1, Math.floor(check.shape.points / this.#divisor)) },
    }));
    const verdicts = this.#insurance.consume(shared, cost);
    const decision = this.#finish(
      rules.map((rule, index) => ({ ...rule, points: (shared[index] as LimitCheck).shape.points })),
      verdicts,
      "insurance",
      routeId,
    );
    if (outage) {
      if (decision.allowed) outage.admittedInMemory += 1;
      else outage.limitedInMemory += 1;
    }
    return decision;
  }

  #finish(rules: readonly RateLimitRule[], verdicts: readonly LimitVerdict[], decidedBy: "store" | "insurance", routeId: string): RateLimitDecision {
    const reports: RateLimitReport[] = rules.map((rule, index) => {
      const verdict = verdicts[index] as LimitVerdict;
      return {
        name: rule.name,
        limit: rule.points,
        windowSeconds: rule.windowSeconds,
        allowed: verdict.allowed,
        remaining: verdict.remaining,
        resetSeconds: Math.max(0, Math.ceil(verdict.resetMs / 1_000)),
        retryAfterSeconds: verdict.allowed ? 0 : Math.max(1, Math.ceil(verdict.retryAfterMs / 1_000)),
      };
    });
    let fired: RateLimitReport | null = null;
    let rejectedBy: string[] | null = null;
    for (const report of reports) {
      if (report.allowed) continue;
      if (fired === null || report.retryAfterSeconds > fired.retryAfterSeconds) fired = report;
      (rejectedBy ??= []).push(report.name);
    }
    // The store decides with the step's rule list, the same array for every request of
    // a plan, so its RateLimit-Policy is built once; the insurance rules are rebuilt for
    // every decision, with their own points.
    let policy = decidedBy === "store" ? policies.get(rules) : undefined;
    if (policy === undefined) {
      policy = rateLimitPolicy(reports);
      if (decidedBy === "store") policies.set(rules, policy);
    }
    const decision: RateLimitDecision = {
      outcome: fired === null ? "admitted" : "limited",
      allowed: fired === null,
      limit: fired?.name ?? null,
      rejectedBy: rejectedBy ?? noneRejected,
      decidedBy,
      retryAfterSeconds: fired?.retryAfterSeconds ?? null,
      reports,
      headers: rateLimitHeaders(reports, fired, policy),
    };
    this.#metrics?.decided(routeId, decision);
    return decision;
  }

  #storeFailed(error: unknown, mode: StoreFailureMode): void {
    const now = this.#clock.epochMs();
    this.#storeDownUntil = now + this.#retryAfterMs;
    this.#metrics?.storeFailed();
    if (this.#outage) {
      this.#outage.failures += 1;
      return;
    }
    this.#outage = { startedAt: now, failures: 1, admittedInMemory: 0, limitedInMemory: 0, refused: 0 };
    this.#logger?.warn(
      { err: error, insurance: this.#insurance !== undefined, defaultMode: this.#defaultMode, requestMode: mode, retryAfterMs: this.#retryAfterMs },
      "rate limit store unavailable: routes that fail open are limited in memory by each gateway on its own, routes that fail closed are refused",
    );
  }

  #storeAnswered(): void {
    const outage = this.#outage;
    if (outage === null) return;
    this.#outage = null;
    this.#logger?.warn(
      {
        outageMs: this.#clock.epochMs() - outage.startedAt,
        failures: outage.failures,
        admittedInMemory: outage.admittedInMemory,
        limitedInMemory: outage.limitedInMemory,
        refusedUnavailable: outage.refused,
      },
      "rate limit store answers again; requests admitted in memory during the outage were not counted in the shared store (the possible overshoot)",
    );
  }
}

/** A request's rate limits between `prepare` and `settle` or `fail`. */
export class PreparedLimits {
  constructor(
    readonly rules: readonly RateLimitRule[],
    readonly checks: readonly LimitCheck[],
    readonly cost: number,
    readonly mode: StoreFailureMode,
    readonly routeId: string,
  ) {}
}

/** Checks kept per rule (see MultiLimiter's #check): about 130 bytes each. */
const maxKeptChecks = 10_000;

/** The one id a rule's key for `subject` varies with, when it is not the client IP; null otherwise. */
function keptKeyId(rule: RateLimitRule, subject: RateLimitSubject): string | null {
  switch (rule.scope) {
    case "consumer":
      return subject.consumerId;
    case "plan":
      return subject.planId;
    case "route":
      return subject.routeId;
    case "consumer-route":
    case "ip":
      return null;
  }
}

/** A rule's shape for the stores, built once per rule object: rules are compiled once per plan or route. */
const shapes = new WeakMap<RateLimitRule, LimitShape>();

function shapeOf(rule: RateLimitRule): LimitShape {
  let shape = shapes.get(rule);
  if (shape === undefined) {
    shape = { algorithm: rule.algorithm, points: rule.points, windowMs: rule.windowSeconds * 1_000 };
    shapes.set(rule, shape);
  }
  return shape;
}
