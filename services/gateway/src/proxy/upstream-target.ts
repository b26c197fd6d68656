import type { Pool } from "undici";
import type { PassiveHealthConfig } from "./balancing-config.js";
import type { TargetBreaker } from "./circuit-breaker.js";

/** How a request to a target ended, as far as the target's health goes. */
export type TargetOutcome = "success" | "failure" | "neutral";

/**
 * One instance of an upstream service: its bounded connection pool, its weight, and its
 * health as two independent verdicts: the active health check's (probes), and the
 * passive one's (outlier detection on real traffic). A target gets requests only while
 * both let it.
 */
export class UpstreamTarget {
  /** Requests sent to it and not yet settled: what least-connections balances on. */
  inFlight = 0;
  /** The active checker's verdict; true until probes say otherwise, and always true without probes. */
  probedHealthy = true;
  /** Epoch ms until which the target is ejected by outlier detection; 0 when it is not. */
  ejectedUntil = 0;
  ejections = 0;
  #consecutiveFailures = 0;

  constructor(
    /** The configured origin, as recorded in events ("http://10.0.0.5:9000"). */
    readonly origin: string,
    readonly pool: Pool,
    /** Changed only by Upstream.replaceTargets, which rebuilds the balancer with it. */
    public weight: number,
    private readonly passive: PassiveHealthConfig,
    /** Null when the upstream has no circuit breakers. */
    readonly breaker: TargetBreaker | null = null,
  ) {}

  /** Healthy by its probes and not ejected: whether it would get requests but for its breaker. */
  healthy(now: number): boolean {
    return this.probedHealthy && this.ejectedUntil <= now;
  }

  available(now: number): boolean {
    return this.probedHealthy && this.ejectedUntil <= now && (this.breaker === null || this.breaker.allowsRequest());
  }

  /** Healthy again by its probes: back in rotation, its failure streak forgotten. */
  readmit(): void {
    this.probedHealthy = true;
    this.ejectedUntil = 0;
    this.#consecutiveFailures = 0;
  }

  /**
   * Out of its upstream's rotation for good: its pool closes once the requests already
   * in it have finished (`close`, never `destroy`: an in-flight request to a removed
   * target completes normally), then its breaker stops.
   */
  async retire(): Promise<void> {
    try {
      await this.pool.close();
    } finally {
      this.breaker?.shutdown();
    }
  }

  /** A request was handed to the target. */
  started(): void {
    this.inFlight += 1;
  }

  /**
   * A request to the target settled. Failures in a row eject it for `ejectionMs`; the
   * first request after that is its trial: a success re-admits it for good, a failure
   * ejects it again at once. `mayEject` false (it is the last available target) keeps it
   * in. Returns true when this call ejected it.
   */
  settled(outcome: TargetOutcome, now: number, mayEject = true): boolean {
    if (this.inFlight > 0) this.inFlight -= 1;
    if (outcome === "neutral") return false;
    if (outcome === "success") {
      this.#consecutiveFailures = 0;
      return false;
    }
    this.#consecutiveFailures += 1;
    const threshold = this.passive.consecutiveFailures;
    if (threshold === 0 || this.#consecutiveFailures < threshold || this.ejectedUntil > now || !mayEject) return false;
    this.ejectedUntil = now + this.passive.ejectionMs;
    this.ejections += 1;
    // One more failure after the cool-down is enough to eject it again.
    this.#consecutiveFailures = threshold - 1;
    return true;
  }
}
