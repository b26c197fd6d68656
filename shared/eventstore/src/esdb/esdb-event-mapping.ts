import { createHash } from "node:crypto";
import type { EventData, JSONType, RecordedEvent as EsdbRecordedEvent } from "@eventstore/db-client";
import { dataOf, type EventToAppend, type Position, type RecordedEvent } from "../event-store.js";

/** Metadata keys the adapter owns; they are removed again on the way out. */
export const schemaVersionKey = "tollgate.schemaVersion";
export const originalIdKey = "tollgate.eventId";

const canonicalUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Namespace of the name-based ids below (a fixed random UUID; changing it changes every derived id). */
const idNamespace = Buffer.from("0b7c6a52f3e94d1fa2c18e5d94b6f370", "hex");

/**
 * EventStoreDB ids are UUIDs, and the server deduplicates appends by them. A port id
 * that is a lowercase UUID is used as is. Any other id is turned into a name-based UUID
 * (RFC 9562 version 5), so the same port id always gives the same server id and a retried
 * append is still recognised; the original id travels in the metadata and comes back on read.
 */
export function toEsdbEventId(id: string): string {
  if (canonicalUuid.test(id)) return id;
  const bytes = createHash("sha1").update(idNamespace).update(id, "utf8").digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function toEsdbEventData(event: EventToAppend): EventData {
  const esdbId = toEsdbEventId(event.id);
  const metadata: Record<string, unknown> = { ...event.metadata, [schemaVersionKey]: event.version };
  if (esdbId !== event.id) metadata[originalIdKey] = event.id;
  return {
    id: esdbId,
    contentType: "application/json",
    type: event.type,
    // Stored as JSON like every other adapter does; undefined has no JSON form.
    data: dataOf(event) as JSONType,
    metadata,
  };
}

/** The port's view of a stored event. `position` comes from the caller: stream reads carry it in different places. */
export function fromEsdbEvent(event: EsdbRecordedEvent, position: Position): RecordedEvent {
  const raw = isPlainObject(event.metadata) ? event.metadata : {};
  const { [schemaVersionKey]: version, [originalIdKey]: originalId, ...metadata } = raw;
  return {
    id: typeof originalId === "string" ? originalId : event.id,
    type: event.type,
    // Events written by other tools carry no schema version: they are version 1.
    version: typeof version === "number" ? version : 1,
    data: event.data,
    metadata,
    streamId: event.streamId,
    revision: Number(event.revision),
    position,
    recordedAt: event.created,
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
