import { streamPrefix, type ControlEvent, type ControlStreamCategory } from "@tollgate/events";
import type { LoadedEntity } from "../application/command-handler.js";
import type { Decider, DecisionContext } from "../domain/decider.js";
import type { ControlPlaneReadModel } from "../projections/control-plane-read-model.js";
import type { EntityRecord } from "../projections/entity-record.js";

export interface StagedEntity {
  streamId: string;
  id: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- entities of every kind are staged side by side
  decider: Decider<any, any, any>;
  /** The state and revision read from the log: the append expects the stream to be still there. */
  basis: LoadedEntity<unknown>;
  /** The state with the staged events folded in. */
  state: unknown;
  events: ControlEvent[];
}

/**
 * The state apply works on: a snapshot of the log, plus the events staged so far. Each
 * entity's events are decided one command at a time on its projected state (so a plan
 * created earlier in the same file can be subscribed to later), and appended together,
 * expecting the revision the snapshot had.
 */
export class Workspace {
  readonly #snapshot: ControlPlaneReadModel;
  readonly #context: DecisionContext;
  readonly #staged = new Map<string, StagedEntity>();

  constructor(snapshot: ControlPlaneReadModel, context: DecisionContext) {
    this.#snapshot = snapshot;
    this.#context = context;
  }

  state<Command, State, Event extends ControlEvent>(decider: Decider<Command, State, Event>, id: string): State {
    return this.#entity(decider, id).state as State;
  }

  /** Every known state of one kind, snapshot and staged. */
  all<Command, State, Event extends ControlEvent>(decider: Decider<Command, State, Event>): State[] {
    const prefix = streamPrefix(decider.category);
    const ids = new Set<string>();
    for (const id of this.#records(decider).ids()) ids.add(id);
    for (const staged of this.#staged.values()) if (staged.streamId.startsWith(prefix)) ids.add(staged.id);
    return [...ids].map((id) => this.state(decider, id)).filter((state) => state !== null && state !== undefined);
  }

  /** Decides `command` on the projected state and stages its events; throws what `decide` throws. */
  decide<Command, State, Event extends ControlEvent>(decider: Decider<Command, State, Event>, id: string, command: Command): Event[] {
    const entity = this.#entity(decider, id);
    const events = decider.decide(command, entity.state as State, this.#context);
    entity.state = events.reduce(decider.evolve, entity.state as State);
    entity.events.push(...events);
    return events;
  }

  /** Staged entities with at least one event, in the order they were first touched. */
  changed(): StagedEntity[] {
    return [...this.#staged.values()].filter((entity) => entity.events.length > 0);
  }

  #entity<Command, State, Event extends ControlEvent>(decider: Decider<Command, State, Event>, id: string): StagedEntity {
    const streamId = `${streamPrefix(decider.category)}${id}`;
    let entity = this.#staged.get(streamId);
    if (!entity) {
      const record = this.#records(decider).get(id);
      const basis = { state: record ? record.state : decider.initialState, revision: record ? record.revision : -1 };
      entity = { streamId, id, decider, basis, state: basis.state, events: [] };
      this.#staged.set(streamId, entity);
    }
    return entity;
  }

  #records(decider: { category: ControlStreamCategory }): { get(id: string): EntityRecord<unknown> | undefined; ids(): Iterable<string> } {
    const from = <State>(table: { get(id: string): EntityRecord<State> | undefined; values(): Iterable<EntityRecord<State>> }) => ({
      get: (id: string): EntityRecord<unknown> | undefined => table.get(id),
      ids: () => [...table.values()].map((record) => record.id),
    });
    const snapshot = this.#snapshot;
    switch (decider.category) {
      case "plan":
        return from(snapshot.plans);
      case "consumer":
        return from(snapshot.consumers);
      case "credential":
        return from(snapshot.credentials);
      case "subscription":
        return from(snapshot.subscriptions);
      case "route":
        return from(snapshot.routes);
      case "upstream":
        return from(snapshot.upstreams);
      case "cache":
        // Cache purges are requests, not declared state: apply never stages one.
        return { get: () => undefined, ids: () => [] };
    }
  }
}
