import type { Actor, ControlEvent, ControlStreamCategory } from "@tollgate/events";

/** What a decision may depend on besides the command and the entity's state. */
export interface DecisionContext {
  actor: Actor;
  now: Date;
}

/**
 * One entity's rules: `decide` turns a command and the entity's current state into
 * the events that record it (none when the command changes nothing, so repeating a
 * command is harmless), or throws a ControlPlaneError; `evolve` folds one event into
 * the state. Both are pure: the command handler loads, appends and retries around them,
 * and the read model and the as-of queries reuse `evolve` to fold the same streams.
 */
export interface Decider<Command, State, Event extends ControlEvent> {
  /** The entity's stream category: its stream is `<category>-<id>`. */
  readonly category: ControlStreamCategory;
  readonly eventTypes: readonly Event["type"][];
  readonly initialState: State;
  readonly evolve: (state: State, event: Event) => State;
  readonly decide: (command: Command, state: State, context: DecisionContext) => Event[];
}
