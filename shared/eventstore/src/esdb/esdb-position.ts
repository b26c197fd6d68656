import { type Position as EsdbPosition, type ReadPosition, START as ESDB_START } from "@eventstore/db-client";
import { type Position, START } from "../event-store.js";

/*
 * The port's position is EventStoreDB's commit position. An append through gRPC is an
 * implicit transaction: each event's record commits itself, and the server reports its
 * commit and prepare positions as that record's own log position. So one number
 * identifies one event, even within a multi-event append. (Explicit transactions, which
 * gave several events the position of one commit record, only ever existed in the TCP API.)
 *
 * `from` is exclusive in the port. The server is not consistent about it: reading $all
 * from a position includes the event at that position, subscribing from a position
 * starts after it. Both adapter paths therefore pass `from` as is and drop any event at
 * or before it, so neither server behaviour can deliver `from` twice or skip the event
 * after it.
 *
 * START (0n) maps to the server's start. The log opens with a system record, so no event
 * sits at position 0, and "after 0" and "from the start" are the same events.
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

