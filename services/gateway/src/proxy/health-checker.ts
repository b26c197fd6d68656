import type { Logger } from "@tollgate/observability";
import type { ActiveHealthCheckConfig } from "./balancing-config.js";
import type { UpstreamTarget } from "./upstream-target.js";

/**
 * Active health checks of one upstream: every `intervalMs`, a GET of `path` on each
 * target, over the target's own pool. `unhealthyThreshold` failed probes in a row mark a
 * target unhealthy (it gets no requests); `healthyThreshold` good ones in a row mark it
 * healthy again, and ends an ejection by outlier detection (the probes say it recovered).
 * A probe fails on a status outside `expectedStatuses`, an error, or no
 * answer within `timeoutMs`. Timers are unref'd: they never keep the process alive.
 */
export class HealthChecker {
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #streaks = new Map<UpstreamTarget, number>();
  #stopped = false;

  constructor(
    private readonly upstream: string,
    private readonly targets: readonly UpstreamTarget[],
    private readonly config: ActiveHealthCheckConfig,
    private readonly logger: Logger,
  ) {}

  start(): void {
    for (const target of this.targets) {
      const timer = setInterval(() => void this.probe(target), this.config.intervalMs);
      timer.unref();
      this.#timers.push(timer);
    }
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
  }

  /** One probe of one target, and its effect on the target's verdict. */
  async probe(target: UpstreamTarget): Promise<void> {
    const { path, timeoutMs, expectedStatuses } = this.config;
    let ok = false;
    let detail = "";
    try {
      const response = await target.pool.request({
        path,
        method: "GET",
        headers: { "user-agent": "tollgate-health-check" },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body.dump();
      ok = expectedStatuses.includes(response.statusCode);
      detail = `status ${response.statusCode}`;
    } catch (error) {
      detail = error instanceof Error ? error.message : String(error);
    }
    if (this.#stopped) return;
    this.record(target, ok, detail);
  }

  /** Applies a probe's result: a positive streak counts successes, a negative one failures. */
  record(target: UpstreamTarget, ok: boolean, detail: string): void {
    const previous = this.#streaks.get(target) ?? 0;
    const streak = ok ? Math.max(previous, 0) + 1 : Math.min(previous, 0) - 1;
    this.#streaks.set(target, streak);
    if (target.probedHealthy && -streak >= this.config.unhealthyThreshold) {
      target.probedHealthy = false;
      this.logger.warn({ upstream: this.upstream, target: target.origin, failedProbes: -streak, detail }, "upstream target unhealthy: it gets no requests until it passes its health checks");
    } else if (!target.probedHealthy && streak >= this.config.healthyThreshold) {
      // Passing its probes again re-admits it at once, ending a passive ejection too.
      target.readmit();
      this.logger.info({ upstream: this.upstream, target: target.origin, passedProbes: streak }, "upstream target healthy again");
    }
  }
}
