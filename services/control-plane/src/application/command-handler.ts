import { parseEvent, streamPrefix, type Actor, type ControlEvent, type ControlStreamCategory } from "@tollgate/events";
import { WrongExpectedRevisionError, type EventStore, type Position, type RecordedEvent } from "@tollgate/eventstore";
import type { Decider, DecisionContext } from "../domain/decider.js";
import { ControlPlaneError } from "../errors/control-plane-error.js";
import { problems } from "../errors/problem-catalog.js";
import type { Clock } from "../runtime/clock.js";
import type { IdGenerator } from "../runtime/id-generator.js";

export interface LoadedEntity<State> {
  state: State;
  /** Revision of the stream's last event; -1 when the stream does not exist. */
  revision: number;
}

export interface ExecuteOptions {
  actor: Actor;
  /**
   * The revision the caller's change was based on (an If-Match header, or a revision
   * the caller read earlier). When it is not the stream's current revision the command
   * is refused with version-conflict, without deciding.
   */
  expectedRevision?: number;
  /** Stored as event metadata, for tracing a change back to its request. */
  requestId?: string;
}

export interface CommandResult<State, Event> {
  state: State;
  revision: number;
  events: Event[];
  /** Position of the last appended event; null when the command changed nothing. */
  position: Position | null;
}

/**
 * Runs a command against one entity: read its stream, fold it, decide, append.
 *
 * The append names the revision the decision was made on, so two concurrent commands
 * on the same entity cannot both succeed on the same state: the second append fails
 * with WrongExpectedRevisionError and the caller gets version-conflict (409), never
 * a silently lost update. The state is read from the stream itself, not from the read
 * model, so a decision is never made on a state that lags the log.
 */
export class CommandHandler {
  readonly #store: EventStore;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;

  constructor(deps: { store: EventStore; clock: Clock; ids: IdGenerator }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
  }

  get clock(): Clock {
    return this.#clock;
  }

  async load<Command, State, Event extends ControlEvent>(decider: Decider<Command, State, Event>, id: string): Promise<LoadedEntity<State>> {
    const recorded = await this.#store.readStream(streamOf(decider, id));
    return foldRecorded(decider, recorded);
  }

  async execute<Command, State, Event extends ControlEvent>(
    decider: Decider<Command, State, Event>,
    id: string,
    command: Command,
    options: ExecuteOptions,
  ): Promise<CommandResult<State, Event>> {
    const loaded = await this.load(decider, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== loaded.revision) {
      throw conflict(streamOf(decider, id), options.expectedRevision, loaded.revision);
    }
    const context: DecisionContext = { actor: options.actor, now: this.#clock.now() };
    const events = decider.decide(command, loaded.state, context);
    return this.append(decider, id, loaded, events, options);
  }

  /** Appends events decided on `basedOn`, expecting the stream to be still at its revision. */
  async append<Command, State, Event extends ControlEvent>(
    decider: Decider<Command, State, Event>,
    id: string,
    basedOn: LoadedEntity<State>,
    events: Event[],
    options: Pick<ExecuteOptions, "actor" | "requestId">,
  ): Promise<CommandResult<State, Event>> {
    if (events.length === 0) return { state: basedOn.state, revision: basedOn.revision, events, position: null };
    const streamId = streamOf(decider, id);
    const metadata = options.requestId ? { requestId: options.requestId } : {};
    try {
      const result = await this.#store.append(
        streamId,
        events.map((event) => ({ id: this.#ids.eventId(), type: event.type, version: event.version, data: event.data, metadata })),
        { expectedRevision: basedOn.revision === -1 ? "no-stream" : basedOn.revision },
      );
      return { state: events.reduce(decider.evolve, basedOn.state), revision: result.nextRevision, events, position: result.position };
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) throw conflict(streamId, basedOn.revision, error.actual, error);
      throw error;
    }
  }
}

export function streamOf(decider: { category: ControlStreamCategory }, id: string): string {
  return `${streamPrefix(decider.category)}${id}`;
}

/** Folds recorded events of one stream with the decider's evolve; every event is validated against its schema. */
export function foldRecorded<State, Event extends ControlEvent>(
  decider: Pick<Decider<unknown, State, Event>, "evolve" | "initialState" | "eventTypes">,
  recorded: readonly RecordedEvent[],
): LoadedEntity<State> {
  let state = decider.initialState;
  for (const event of recorded) {
    const parsed = parseEvent(event.type, event.version, event.data);
    if (!(decider.eventTypes as readonly string[]).includes(parsed.type)) {
      throw new Error(`stream ${event.streamId} holds a ${parsed.type} event, which does not belong to it`);
    }
    state = decider.evolve(state, parsed as Event);
  }
  return { state, revision: recorded.at(-1)?.revision ?? -1 };
}

function conflict(streamId: string, expected: number, actual: number, cause?: unknown): ControlPlaneError {
  const describe = (revision: number): string => (revision === -1 ? "no version (it does not exist)" : `version ${revision}`);
  return new ControlPlaneError(
    problems.versionConflict,
    `${streamId} is at ${describe(actual)}, but the change was based on ${describe(expected)}; read it again and retry`,
    { currentVersion: actual },
    cause === undefined ? undefined : { cause },
  );
}
