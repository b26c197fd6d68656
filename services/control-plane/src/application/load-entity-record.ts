import type { ControlEvent } from "@tollgate/events";
import type { EventStore } from "@tollgate/eventstore";
import type { Decider } from "../domain/decider.js";
import type { EntityRecord } from "../projections/entity-record.js";
import { foldRecorded, streamOf } from "./command-handler.js";

/**
 * Folds an entity's stream straight from the log, optionally only the events recorded
 * at or before `asOf`: the state the entity had at that instant. Undefined when the
 * entity did not exist (yet).
 */
export async function loadEntityRecord<Command, State, Event extends ControlEvent>(
  store: EventStore,
  decider: Decider<Command, State, Event>,
  id: string,
  asOf?: Date,
): Promise<EntityRecord<NonNullable<State>> | undefined> {
  let recorded = await store.readStream(streamOf(decider, id));
  if (asOf) recorded = recorded.filter((event) => event.recordedAt.getTime() <= asOf.getTime());
  const first = recorded[0];
  const last = recorded.at(-1);
  if (!first || !last) return undefined;
  const { state, revision } = foldRecorded(decider, recorded);
  if (state === null || state === undefined) return undefined;
  return { id, state, revision, position: last.position, createdAt: first.recordedAt, updatedAt: last.recordedAt };
}
