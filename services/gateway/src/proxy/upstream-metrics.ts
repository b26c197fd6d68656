import { Gauge, type Registry } from "prom-client";
import type { Upstream } from "./upstream.js";

/**
 * Target health on /metrics, read at scrape time:
 * - tollgate_upstream_target_healthy{upstream, target}: 1 while the target gets requests;
 * - tollgate_upstream_target_ejections_total{upstream, target}: ejections by outlier detection;
 * - tollgate_upstream_circuit_state{upstream, target}: 0 closed, 1 half-open, 2 open.
 * Each scrape starts from an empty gauge (`reset`), so a target removed live
 * (UpstreamTargetsSet) disappears from /metrics instead of keeping its last value.
 */
export function registerUpstreamMetrics(registry: Registry, upstreams: Iterable<Upstream>): void {
  const all = [...upstreams];
  new Gauge({
    name: "tollgate_upstream_target_healthy",
    help: "1 while the upstream target gets requests (its health checks pass and it is not ejected), else 0",
    labelNames: ["upstream", "target"],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const upstream of all) for (const target of upstream.targets) this.set({ upstream: upstream.name, target: target.origin }, target.available(now) ? 1 : 0);
    },
  });
  new Gauge({
    name: "tollgate_upstream_circuit_state",
    help: "The target's circuit breaker: 0 closed, 1 half-open, 2 open (targets with breakers only)",
    labelNames: ["upstream", "target"],
    registers: [registry],
    collect() {
      this.reset();
      for (const upstream of all) {
        for (const target of upstream.targets) {
          const state = target.breaker?.state;
          if (state !== undefined) this.set({ upstream: upstream.name, target: target.origin }, state === "closed" ? 0 : state === "half-open" ? 1 : 2);
        }
      }
    },
  });
  new Gauge({
    name: "tollgate_upstream_target_ejections_total",
    help: "Times outlier detection ejected the upstream target",
    labelNames: ["upstream", "target"],
    registers: [registry],
    collect() {
      this.reset();
      for (const upstream of all) for (const target of upstream.targets) this.set({ upstream: upstream.name, target: target.origin }, target.ejections);
    },
  });
}
