import type { ArmRound } from "./arm-round.js";

/**
 * An arm with active health checks sends the upstream requests of its own (the probes)
 * that are not client requests and have no request event, so the upstream's count
 * exceeds the events by them. The gateway probes each target on a timer started after
 * it starts, first one interval in, so over the arm's lifetime (from before start() to
 * after stop(), longer than the process lived) it sent at most this many.
 */
export function healthProbesAtMost(lifetimeMs: number, intervalMs: number, targets: number): number {
  if (!(lifetimeMs >= 0) || !(intervalMs > 0)) return Number.NaN;
  return targets * Math.floor(lifetimeMs / intervalMs);
}

/** The key under which an arm's stop report carries its probe allowance. */
export const healthProbesDetailKey = "healthProbesAtMost";

/**
 * The round with the upstream's count reduced by the arm's probe allowance (when its stop
 * report carries one), for the event-log check: then "every request the upstream served
 * has its event" holds to within the probes. Other rounds are returned as they are.
 */
export function withHealthProbesDiscounted(round: ArmRound): ArmRound {
  const allowance = round.stop?.detail?.[healthProbesDetailKey];
  if (typeof allowance !== "number" || Number.isNaN(allowance) || round.upstreamServed === null) return round;
  return { ...round, upstreamServed: Math.max(0, round.upstreamServed - allowance) };
}
