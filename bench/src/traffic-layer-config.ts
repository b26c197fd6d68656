/**
 * The gateway config of the traffic bench's layered arms (see docs/traffic-management.md
 * for each key): the bench's one route and upstream, with every part of the
 * traffic-management layer switched on. Deep-merged over the bench's base config, so the
 * upstream's target list and the route list replace the base's.
 *
 * The values are sized never to act on a healthy loopback upstream (no timeout fires, no
 * breaker opens, no target is ejected): the arms measure what the layer costs per
 * request, not what it does when something fails.
 */

export interface WeightedTarget {
  url: string;
  weight: number;
}

export type TrafficAlgorithm = "weighted-round-robin" | "consistent-hash";

/** Active health checks: one probe of each target per second. */
export const trafficHealthCheckIntervalMs = 1_000;

export function trafficLayerConfig(targets: readonly WeightedTarget[], algorithm: TrafficAlgorithm, routePrefix: string): Record<string, unknown> {
  return {
    upstreams: {
      bench: {
        targets: targets.map(({ url, weight }) => ({ url, weight })),
        balancing: algorithm === "consistent-hash" ? { algorithm, hashOn: "client-ip" } : { algorithm },
        healthChecks: {
          active: { path: "/", intervalMs: trafficHealthCheckIntervalMs, timeoutMs: 500, expectedStatuses: [200], healthyThreshold: 2, unhealthyThreshold: 2 },
          passive: { consecutiveFailures: 5, ejectionMs: 10_000 },
        },
        circuitBreaker: { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 20, resetTimeoutMs: 10_000, rollingWindowMs: 10_000 },
        connectTimeoutMs: 2_000,
      },
    },
    routes: [
      {
        id: "bench",
        match: { pathPrefix: routePrefix },
        upstream: "bench",
        timeouts: { responseHeadersMs: 5_000, totalMs: 10_000 },
        retries: { attempts: 2, backoffBaseMs: 25, backoffMaxMs: 250, budgetRatio: 0.2, budgetMinPerSecond: 3 },
      },
    ],
  };
}

/**
 * The bare gateway pointed at the layered arms' three targets: plain round-robin (equal
 * weights), every other traffic setting at its default (no breaker, no active health
 * checks, no route timeouts, no retries). Against it, the layered arm differs only by the
 * layer: the three upstream processes, which share the machine's cores with the gateway,
 * are the same on both sides.
 */
export function bareOverTargetsConfig(targets: readonly WeightedTarget[]): Record<string, unknown> {
  return { upstreams: { bench: { targets: targets.map(({ url }) => ({ url, weight: 1 })) } } };
}
