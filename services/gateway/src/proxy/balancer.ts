import type { BalancingAlgorithm } from "./balancing-config.js";
import { hash32, HashRing } from "./hash-ring.js";
import type { UpstreamTarget } from "./upstream-target.js";

/**
 * Picks a target for a request among those `available` accepts. `key` is the
 * consistent-hash key (ignored by the other algorithms). Null when none is available.
 */
export interface Balancer {
  pick(available: (target: UpstreamTarget) => boolean, key: string): UpstreamTarget | null;
}

export function createBalancer(algorithm: BalancingAlgorithm, targets: readonly UpstreamTarget[]): Balancer {
  switch (algorithm) {
    case "round-robin":
      return roundRobin(targets);
    case "weighted-round-robin":
      return smoothWeightedRoundRobin(targets);
    case "least-connections":
      return leastConnections(targets);
    case "consistent-hash":
      return consistentHash(targets);
  }
}

/** In turn, skipping unavailable targets. */
function roundRobin(targets: readonly UpstreamTarget[]): Balancer {
  let next = 0;
  return {
    pick(available) {
      for (let step = 0; step < targets.length; step++) {
        const target = targets[next] as UpstreamTarget;
        next = next + 1 === targets.length ? 0 : next + 1;
        if (available(target)) return target;
      }
      return null;
    },
  };
}

/**
 * nginx's smooth weighted round-robin: each pick adds every available target's weight to
 * its running score, takes the highest, and takes the total off the winner. Weights 1:2:3
 * give c b a c b c, interleaved rather than in runs, and exactly in proportion over
 * every cycle of `sum(weights)` picks.
 */
function smoothWeightedRoundRobin(targets: readonly UpstreamTarget[]): Balancer {
  const scores = new Float64Array(targets.length);
  return {
    pick(available) {
      let total = 0;
      let best = -1;
      for (let index = 0; index < targets.length; index++) {
        const target = targets[index] as UpstreamTarget;
        if (!available(target)) continue;
        scores[index] = (scores[index] as number) + target.weight;
        total += target.weight;
        if (best === -1 || (scores[index] as number) > (scores[best] as number)) best = index;
      }
      if (best === -1) return null;
      scores[best] = (scores[best] as number) - total;
      return targets[best] as UpstreamTarget;
    },
  };
}

/** The fewest requests in flight per unit of weight; ties go round-robin. */
function leastConnections(targets: readonly UpstreamTarget[]): Balancer {
  let start = 0;
  return {
    pick(available) {
      let best: UpstreamTarget | null = null;
      let bestLoad = Infinity;
      for (let step = 0; step < targets.length; step++) {
        const target = targets[(start + step) % targets.length] as UpstreamTarget;
        if (!available(target)) continue;
        const load = target.inFlight / target.weight;
        if (load < bestLoad) {
          best = target;
          bestLoad = load;
        }
      }
      start = start + 1 === targets.length ? 0 : start + 1;
      return best;
    },
  };
}

function consistentHash(targets: readonly UpstreamTarget[]): Balancer {
  const ring = new HashRing(targets.map((target) => ({ id: target.origin, weight: target.weight, value: target })));
  return {
    pick(available, key) {
      return ring.lookup(hash32(key), available);
    },
  };
}
