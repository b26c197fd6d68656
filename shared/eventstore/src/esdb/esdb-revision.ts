import { type AppendExpectedRevision, type CurrentRevision, ANY, NO_STREAM, STREAM_EXISTS } from "@eventstore/db-client";
import type { ExpectedRevision } from "../event-store.js";

/** The port's expected revision in the client's terms; a number is the revision of the stream's last event. */
export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case "any":
      return ANY;
    case "no-stream":
      return NO_STREAM;
    case "exists":
      return STREAM_EXISTS;
    default:
      if (!Number.isSafeInteger(expected) || expected < 0) {
        throw new RangeError(`expected revision must be a non-negative integer, got ${expected}`);
      }
      return BigInt(expected);
  }
}

/** The stream's actual revision from a WrongExpectedVersionError: -1 when the stream does not exist. */
export function fromEsdbCurrentRevision(current: CurrentRevision): number {
  return current === NO_STREAM ? -1 : Number(current);
}
