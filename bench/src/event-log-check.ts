import type { ArmRound } from "./arm-round.js";

export interface EventLogCheck {
  round: number;
  arm: string;
  events: number;
  clientCompleted: number;
  clientSentUpperBound: number;
  upstreamServed: number | null;
  ok: boolean;
  explanation: string;
}

/**
 * Does the log hold every request? wrk counts only the responses it received, and stops
 * with up to one request in flight per connection, which the gateway did receive and
 * must record too. So the request events must lie between what the clients saw
 * completed and that plus the requests in flight at each stop. When the upstream's count
 * is known, every request it served through the gateway must have its event as well.
 */
export function checkEventLog(round: ArmRound): EventLogCheck | null {
  const events = round.stop?.requestEvents;
  if (events === undefined) return null;
  const { clientCompleted, clientSentUpperBound, upstreamServed } = round;
  const problems: string[] = [];
  if (round.error !== null) problems.push(`the arm failed: ${round.error}`);
  if (events < clientCompleted) problems.push(`${clientCompleted - events} completed request(s) have no event`);
  if (events > clientSentUpperBound) problems.push(`${events - clientSentUpperBound} event(s) more than requests sent`);
  if (upstreamServed !== null && events < upstreamServed) problems.push(`the upstream served ${upstreamServed - events} request(s) more than were recorded`);
  const inFlight = events - clientCompleted;
  const explanation =
    problems.length > 0
      ? problems.join("; ")
      : inFlight === 0
        ? "every completed request has exactly one event"
        : `every completed request has an event; ${inFlight} more were in flight when wrk stopped (at most ${clientSentUpperBound - clientCompleted})`;
  return { round: round.round, arm: round.arm, events, clientCompleted, clientSentUpperBound, upstreamServed, ok: problems.length === 0, explanation };
}
