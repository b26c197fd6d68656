import type { TollgateEvent } from "@tollgate/events";
import type { RecordedEvent } from "@tollgate/eventstore";

/**
 * A projection in the Emmett style: a pure `evolve(state, event)` inside a small
 * declarative wrapper. The wrapper says which events it handles, which key (entity)
 * an event belongs to, and which lookup keys a state should be findable by; the
 * ProjectionTable does the bookkeeping (one state per key, the indexes), so the logic
 * stays a pure function that unit tests call directly.
 */
export interface KeyedProjection<State, Event extends TollgateEvent = TollgateEvent> {
  readonly name: string;
  readonly canHandle: readonly Event["type"][];
  /** The key the event folds into, or null to skip it. */
  readonly keyOf: (event: Event, recorded: RecordedEvent) => string | null;
  readonly initialState: State;
  readonly evolve: (state: State, event: Event) => State;
  /** Lookup keys for a state (e.g. an API key's hash); kept unique across the table, last writer wins. */
  readonly indexBy?: (state: State) => readonly string[];
}

export function defineKeyedProjection<State, Event extends TollgateEvent>(
  projection: KeyedProjection<State, Event>,
): KeyedProjection<State, Event> {
  return projection;
}
