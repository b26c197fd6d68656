import { type Position as EsdbPosition, type ReadPosition, START as ESDB_START } from "@eventstore/db-client";
import { type Position, START } from "../event-store.js";

/*
 * The port's position is EventStoreDB's commit position. Every event appended through
 * gRPC is its own implicit transaction, so its commit and prepare positions are both the
 * log position of its record: one number identifies one event. (Explicit transactions,
 * which gave several events one commit position, only ever existed in the TCP API.)
 *
 * `from` is exclusive in the port. The server is not consistent about it: reading $all
 * from a position includes the event at that position, subscribing from a position
 * starts after it. Both adapter paths therefore pass `from` as is and drop any event at
 * or before it, so neither server behaviour can deliver `from` twice or skip the event
 * after it.
 */

/** Where to start reading or subscribing for the port's exclusive `from`. */
export function toEsdbReadPosition(from: Position): ReadPosition {
  if (from < START) throw new RangeError(`position must be >= 0, got ${from}`);
  return from === START ? ESDB_START : { commit: from, prepare: from };
}

/** The port's position for an event's EventStoreDB position. */
export function fromEsdbPosition(position: EsdbPosition): Position {
  return position.commit;
}

