import type { Arm, ArmStopReport, RunningArm } from "./arm.js";
import type { NginxServer } from "./nginx-server.js";

/**
 * Arm A: the upstream itself, called directly. It is the baseline of every latency
 * figure ("added over direct"). The upstream runs for the whole bench, so start and stop
 * do nothing.
 */
export function createDirectArm(upstream: NginxServer, key = "A"): Arm {
  return {
    key,
    upstream,
    name: "direct",
    description: "nginx upstream (1 worker, fixed 3-byte body) called directly: the baseline",
    start(): Promise<RunningArm> {
      return Promise.resolve({ url: upstream.url, pid: upstream.pid });
    },
    stop(): Promise<ArmStopReport> {
      return Promise.resolve({});
    },
  };
}
