import type { Logger } from "@tollgate/observability";
import CircuitBreaker from "opossum";
import { z } from "zod";
import type { TargetOutcome } from "./upstream-target.js";

export const CircuitBreakerConfig = z.strictObject({
  enabled: z.boolean().default(false).describe("A circuit breaker per target of this upstream (opossum)"),
  errorThresholdPercentage: z
    .number()
    .min(1)
    .max(100)
    .default(50)
    .describe("Share of failed requests (connection errors, timeouts, 502/503/504) over the rolling window that opens the breaker"),
  volumeThreshold: z.number().int().min(1).max(100_000).default(20).describe("Requests in the rolling window before the breaker may open at all"),
  resetTimeoutMs: z.number().int().min(10).max(3_600_000).default(10_000).describe("How long an open breaker refuses before it lets one trial request through (half-open)"),
  rollingWindowMs: z.number().int().min(100).max(600_000).default(10_000).describe("The window the failure share is computed over (10 buckets)"),
});

export type CircuitBreakerConfig = z.output<typeof CircuitBreakerConfig>;
export type CircuitState = "closed" | "open" | "half-open";

/** Told of every state change of a target's breaker (the gateway records them as events). */
export type BreakerStateListener = (change: { upstream: string; target: string; from: CircuitState; to: CircuitState; opens: number }) => void;

/** Counted as the breaker's failure; one shared instance, so a failure costs no allocation or stack. */
const failed = Object.assign(new Error("upstream attempt failed"), { stack: "" });

/** Settles one request's breaker accounting with how the attempt went. */
export type BreakerSettle = (outcome: TargetOutcome) => void;

/**
 * One target's circuit breaker: opossum's state machine and rolling statistics, driven by
 * the exchange's callback-style upstream requests. `run` fires the breaker with an action
 * that dispatches the attempt at once (opossum runs the action synchronously inside its
 * promise executor) and hands back the function that settles it when the attempt ends:
 * a failure counts against the breaker, success and neutral outcomes (the client left)
 * do not. Opossum's own timeout is off: the gateway's timeouts end the attempt, and count.
 *
 * Closed: every request goes through. Open: the target is skipped by the balancer (the
 * request goes to another target, or gets 503 circuit-open at once). After
 * `resetTimeoutMs`, half-open: exactly one trial request goes through; it closes the
 * breaker on success and opens it again on failure.
 */
export class TargetBreaker {
  readonly #breaker: CircuitBreaker<[start: (settle: BreakerSettle) => void], void>;
  opens = 0;

  constructor(upstream: string, target: string, config: CircuitBreakerConfig, logger: Logger | null, onStateChange: BreakerStateListener | null = null) {
    this.#breaker = new CircuitBreaker(
      (start: (settle: BreakerSettle) => void) =>
        new Promise<void>((resolve, reject) => {
          start((outcome) => (outcome === "failure" ? reject(failed) : resolve()));
        }),
      {
        timeout: false,
        errorThresholdPercentage: config.errorThresholdPercentage,
        volumeThreshold: config.volumeThreshold,
        resetTimeout: config.resetTimeoutMs,
        rollingCountTimeout: config.rollingWindowMs,
        rollingCountBuckets: 10,
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
        name: `${upstream} ${target}`,
      },
    );
    const context = { upstream, target };
    let state: CircuitState = "closed";
    const changed = (to: CircuitState): void => {
      const from = state;
      state = to;
      if (from !== to) onStateChange?.({ upstream, target, from, to, opens: this.opens });
    };
    this.#breaker.on("open", () => {
      this.opens += 1;
      logger?.warn({ ...context, resetTimeoutMs: config.resetTimeoutMs }, "circuit breaker open: the target gets no requests until a trial succeeds");
      changed("open");
    });
    this.#breaker.on("halfOpen", () => {
      logger?.info(context, "circuit breaker half-open: letting one trial request through");
      changed("half-open");
    });
    this.#breaker.on("close", () => {
      logger?.info(context, "circuit breaker closed: the target is back");
      changed("closed");
    });
  }

  get state(): CircuitState {
    if (this.#breaker.closed) return "closed";
    return this.#breaker.halfOpen ? "half-open" : "open";
  }

  /** Whether a request may go to the target now: closed, or half-open with its trial not yet taken. */
  allowsRequest(): boolean {
    return this.#breaker.closed || this.#breaker.pendingClose;
  }

  /** Runs one attempt through the breaker; `dispatch` runs synchronously when the breaker allows it. */
  run(dispatch: (settle: BreakerSettle) => void): void {
    this.#breaker.fire(dispatch).catch(ignore);
  }

  shutdown(): void {
    this.#breaker.shutdown();
  }
}

function ignore(): void {
  // The attempt's outcome reaches the client through the exchange; the breaker's promise only feeds its statistics.
}
