import type { Position } from "@tollgate/eventstore";

/** One key's folded state, with where it stands in its stream and in the log. */
export interface EntityRecord<State> {
  id: string;
  state: State;
  /** Revision of the last event folded in: the entity's version, used as its ETag and expected revision. */
  revision: number;
  /** Log position of the last event folded in. */
  position: Position;
  createdAt: Date;
  updatedAt: Date;
}
