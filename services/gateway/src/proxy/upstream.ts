import type { Logger } from "@tollgate/observability";
import { Pool } from "undici";
import type { UpstreamConfig } from "../config/gateway-config.js";
import { createBalancer, type Balancer } from "./balancer.js";
import type { BalancingConfig } from "./balancing-config.js";
import { TargetBreaker, type BreakerStateListener, type CircuitState } from "./circuit-breaker.js";
import { HealthChecker } from "./health-checker.js";
import { UpstreamTarget, type TargetOutcome } from "./upstream-target.js";

export { UpstreamTarget, type TargetOutcome } from "./upstream-target.js";

/** What the balancer may key a request on (consistent hashing). */
export interface BalancedRequest {
  readonly consumerId: string | null;
  readonly clientIp: string;
  /** Flat `[name, value, …]`, as forwarded. */
  readonly headers: readonly string[];
}

/** A target's state, for /upstreams on the status port and for metrics. */
export interface TargetHealth {
  origin: string;
  weight: number;
  healthy: boolean;
  probedHealthy: boolean;
  circuit: CircuitState | null;
  ejectedUntil: string | null;
  ejections: number;
  inFlight: number;
}

/** A target as configured, or as set live through the control plane (UpstreamTargetsSet). */
export interface TargetSpec {
  readonly url: string;
  readonly weight: number;
}

/** What replaceTargets did, by origin; `retired` settles once the removed targets' pools have closed. */
export interface TargetsReplaced {
  kept: string[];
  added: string[];
  removed: string[];
  retired: Promise<void>;
}

/** Builds a target (its pool and breaker) with the upstream's connection settings. */
export type TargetFactory = (origin: string, weight: number) => UpstreamTarget;
/** Builds the active health checker for a target set; null when the upstream has none. */
export type HealthCheckerFactory = (targets: readonly UpstreamTarget[]) => HealthChecker | null;

/**
 * A named upstream: its targets with their pools, a balancer and their health. The pool
 * bounds connections per target (`connections`) and keeps them alive, so the number of
 * upstream connections follows concurrency, never request count; requests beyond the
 * bound queue inside the pool.
 *
 * The target set can be replaced live (replaceTargets). The request path only reads the
 * current balancer: a replacement swaps the target list, the balancer and the health
 * checker in one synchronous step, so a request sees either the old set or the new one.
 */
export class Upstream {
  #targets: readonly UpstreamTarget[];
  #balancer: Balancer;
  #checker: HealthChecker | null;
  /** Removed targets whose pools are still closing (requests in flight); closeUpstreams waits for them too. */
  readonly #retiring = new Set<UpstreamTarget>();
  #now = 0;
  #exclude: ReadonlySet<UpstreamTarget> | null = null;
  readonly #available = (target: UpstreamTarget): boolean => target.available(this.#now) && (this.#exclude === null || !this.#exclude.has(target));

  constructor(
    readonly name: string,
    targets: readonly UpstreamTarget[],
    private readonly balancing: BalancingConfig,
    /** The targets in the gateway's config: what UpstreamTargetsReset goes back to. */
    readonly configuredTargets: readonly TargetSpec[],
    private readonly makeTarget: TargetFactory,
    private readonly makeChecker: HealthCheckerFactory,
    private readonly logger: Logger | null,
  ) {
    this.#targets = targets;
    this.#balancer = createBalancer(balancing.algorithm, targets);
    this.#checker = makeChecker(targets);
    this.#checker?.start();
  }

  /** The current target set. */
  get targets(): readonly UpstreamTarget[] {
    return this.#targets;
  }

  /** Removed targets whose pools have not finished closing yet. */
  get retiring(): readonly UpstreamTarget[] {
    return [...this.#retiring];
  }

  /**
   * Replaces the target set in place. A target whose origin stays keeps its object:
   * the same pool and keep-alive connections, health, ejection and breaker state, with
   * the new weight. New origins get a new target. Removed targets leave the balancer at
   * once; their pools close gracefully, so requests already sent to them complete. The
   * balancer (its rotation, scores or hash ring) and the active health checker are
   * rebuilt for the new set; a kept target's probe streak starts again.
   */
  replaceTargets(specs: readonly TargetSpec[]): TargetsReplaced {
    const current = new Map(this.#targets.map((target) => [target.origin, target]));
    const kept: string[] = [];
    const added: string[] = [];
    const next = specs.map((spec) => {
      const origin = new URL(spec.url).origin;
      const existing = current.get(origin);
      if (existing === undefined) {
        added.push(origin);
        return this.makeTarget(origin, spec.weight);
      }
      current.delete(origin);
      kept.push(origin);
      existing.weight = spec.weight;
      return existing;
    });
    const removed = [...current.values()];
    this.#checker?.stop();
    this.#targets = next;
    this.#balancer = createBalancer(this.balancing.algorithm, next);
    this.#checker = this.makeChecker(next);
    this.#checker?.start();
    for (const target of removed) this.#retiring.add(target);
    const retired = Promise.all(
      removed.map(async (target) => {
        try {
          await target.retire();
        } catch (error) {
          this.logger?.warn({ err: error, upstream: this.name, target: target.origin }, "closing a removed upstream target's pool failed");
        } finally {
          this.#retiring.delete(target);
        }
      }),
    ).then(() => undefined);
    this.logger?.info(
      { upstream: this.name, targets: next.map((target) => ({ origin: target.origin, weight: target.weight })), kept, added, removed: removed.map((target) => target.origin) },
      "upstream targets replaced",
    );
    return { kept, added, removed: removed.map((target) => target.origin), retired };
  }

  /**
   * The target for a request, or null when every target is unhealthy or ejected. A retry
   * passes the targets it already tried: another healthy target is preferred, and one
   * already tried is used again only when no other is healthy.
   */
  pick(request: BalancedRequest, now: number, tried: ReadonlySet<UpstreamTarget> | null = null): UpstreamTarget | null {
    this.#now = now;
    const key = this.balancing.algorithm === "consistent-hash" ? this.#hashKey(request) : "";
    if (tried !== null) {
      this.#exclude = tried;
      const fresh = this.#balancer.pick(this.#available, key);
      this.#exclude = null;
      if (fresh !== null) return fresh;
    }
    return this.#balancer.pick(this.#available, key);
  }

  /**
   * A request to `target` settled; passive health (outlier detection) learns from it.
   * Outlier detection never ejects the last available target (as nginx ignores
   * max_fails for a lone server, and Envoy caps ejections by percentage): with nowhere
   * else to send the request, ejecting it would turn its errors into 503s for everyone.
   * Active health checks still can take it out.
   */
  report(target: UpstreamTarget, outcome: TargetOutcome, now: number): void {
    const mayEject = outcome === "failure" && this.targets.some((other) => other !== target && other.available(now));
    if (target.settled(outcome, now, mayEject)) {
      this.logger?.warn(
        { upstream: this.name, target: target.origin, ejectedUntil: new Date(target.ejectedUntil).toISOString() },
        "upstream target ejected after consecutive failures",
      );
    }
  }

  health(now: number): TargetHealth[] {
    return this.targets.map((target) => ({
      origin: target.origin,
      weight: target.weight,
      healthy: target.available(now),
      probedHealthy: target.probedHealthy,
      circuit: target.breaker?.state ?? null,
      ejectedUntil: target.ejectedUntil > now ? new Date(target.ejectedUntil).toISOString() : null,
      ejections: target.ejections,
      inFlight: target.inFlight,
    }));
  }

  /** No target is available, and it is breakers, not health, that keep some of them out. */
  circuitOpen(now: number): boolean {
    return this.targets.some((target) => target.healthy(now) && target.breaker !== null && !target.breaker.allowsRequest());
  }

  stopHealthChecks(): void {
    this.#checker?.stop();
    for (const target of this.#targets) target.breaker?.shutdown();
  }

  #hashKey(request: BalancedRequest): string {
    switch (this.balancing.hashOn) {
      case "consumer":
        return request.consumerId ?? request.clientIp;
      case "client-ip":
        return request.clientIp;
      case "header": {
        const name = this.balancing.hashHeader as string;
        const headers = request.headers;
        for (let index = 0; index < headers.length; index += 2) {
          if ((headers[index] as string).toLowerCase() === name) return headers[index + 1] as string;
        }
        return request.clientIp;
      }
    }
  }
}

export function createUpstreams(
  config: Readonly<Record<string, UpstreamConfig>>,
  logger: Logger | null = null,
  onBreakerStateChange: BreakerStateListener | null = null,
): Map<string, Upstream> {
  const upstreams = new Map<string, Upstream>();
  for (const [name, upstream] of Object.entries(config)) {
    const makeTarget: TargetFactory = (origin, weight) => {
      const pool = new Pool(origin, {
        connections: upstream.connections,
        pipelining: upstream.pipelining,
        keepAliveTimeout: upstream.keepAliveTimeoutMs,
        connect: { timeout: upstream.connectTimeoutMs },
        headersTimeout: upstream.headersTimeoutMs,
        bodyTimeout: upstream.bodyTimeoutMs,
      });
      const breaker = upstream.circuitBreaker.enabled ? new TargetBreaker(name, origin, upstream.circuitBreaker, logger, onBreakerStateChange) : null;
      return new UpstreamTarget(origin, pool, weight, upstream.healthChecks.passive, breaker);
    };
    const active = upstream.healthChecks.active;
    const makeChecker: HealthCheckerFactory = (targets) => (active === undefined || logger === null ? null : new HealthChecker(name, targets, active, logger));
    const targets = upstream.targets.map((target) => makeTarget(new URL(target.url).origin, target.weight));
    upstreams.set(name, new Upstream(name, targets, upstream.balancing, upstream.targets, makeTarget, makeChecker, logger));
  }
  return upstreams;
}

/**
 * Stops the health checks and closes every pool, those of removed targets still
 * closing included; `force` destroys connections still in use.
 */
export async function closeUpstreams(upstreams: Iterable<Upstream>, force: boolean): Promise<void> {
  const all = [...upstreams];
  for (const upstream of all) upstream.stopHealthChecks();
  const pools = all.flatMap((upstream) => [...upstream.targets, ...upstream.retiring].map((target) => target.pool));
  await Promise.all(pools.map((pool) => (force ? pool.destroy() : pool.close())));
}
