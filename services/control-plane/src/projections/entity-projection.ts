import { streamPrefix, type ControlEvent } from "@tollgate/events";
import type { Decider } from "../domain/decider.js";
import { defineKeyedProjection, type KeyedProjection } from "./keyed-projection.js";

/**
 * The read model of one entity type is its decider's `evolve`, keyed by stream: the API
 * reads exactly the state that commands are decided on.
 */
export function entityProjection<Command, State, Event extends ControlEvent>(
  name: string,
  decider: Decider<Command, State, Event>,
  indexBy?: (state: State) => readonly string[],
): KeyedProjection<State, Event> {
  const prefix = streamPrefix(decider.category);
  return defineKeyedProjection<State, Event>({
    name,
    canHandle: decider.eventTypes,
    keyOf: (_event, recorded) => (recorded.streamId.startsWith(prefix) ? recorded.streamId.slice(prefix.length) : null),
    initialState: decider.initialState,
    evolve: decider.evolve,
    ...(indexBy ? { indexBy } : {}),
  });
}
