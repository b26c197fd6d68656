import { Pool } from "undici";
import type { UpstreamConfig } from "../config/gateway-config.js";

/** One instance of an upstream service, with its own bounded connection pool. */
export interface UpstreamTarget {
  /** The configured origin, as recorded in events ("http://10.0.0.5:9000"). */
  readonly origin: string;
  readonly pool: Pool;
}

/**
 * A named upstream: its targets and their pools, built once at config load. The
 * pool bounds connections per target (`connections`) and keeps them alive, so the
 * number of upstream connections follows concurrency, never request count; requests
 * beyond the bound queue inside the pool.
 */
export class Upstream {
  private next = 0;

  constructor(
    readonly name: string,
    readonly targets: readonly UpstreamTarget[],
  ) {}

  /** Round-robin over the targets. Health checks and circuit breakers come later. */
  pick(): UpstreamTarget {
    const target = this.targets[this.next] as UpstreamTarget;
    this.next = this.next + 1 === this.targets.length ? 0 : this.next + 1;
    return target;
  }
}

export function createUpstreams(config: Readonly<Record<string, UpstreamConfig>>): Map<string, Upstream> {
  const upstreams = new Map<string, Upstream>();
  for (const [name, upstream] of Object.entries(config)) {
    const targets = upstream.targets.map((target): UpstreamTarget => {
      const origin = new URL(target).origin;
      return {
        origin,
        pool: new Pool(origin, {
          connections: upstream.connections,
          pipelining: upstream.pipelining,
          keepAliveTimeout: upstream.keepAliveTimeoutMs,
          connect: { timeout: upstream.connectTimeoutMs },
          headersTimeout: upstream.headersTimeoutMs,
          bodyTimeout: upstream.bodyTimeoutMs,
        }),
      };
    });
    upstreams.set(name, new Upstream(name, targets));
  }
  return upstreams;
}

/** Closes every pool; `force` destroys connections still in use. */
export async function closeUpstreams(upstreams: Iterable<Upstream>, force: boolean): Promise<void> {
  const pools = [...upstreams].flatMap((upstream) => upstream.targets.map((target) => target.pool));
  await Promise.all(pools.map((pool) => (force ? pool.destroy() : pool.close())));
}
