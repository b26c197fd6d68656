import type { EventToAppend } from "@tollgate/eventstore";

/**
 * How a batch of events crosses from the gateway's event loop to the append worker: one
 * string, one line per event, its fields separated by tabs (id, type, version, data).
 *
 * A single string is copied across threads in one piece, where an array of event
 * objects would be walked and rebuilt field by field on both sides. The data is
 * `JSON.stringify` output, which never holds a raw tab or newline (JSON escapes them
 * inside strings and adds no whitespace of its own), and ids and type names never do
 * either, so the separators are unambiguous.
 */
export function batchLine(id: string, type: string, version: number, serializedData: string): string {
  return id + "\t" + type + "\t" + version + "\t" + serializedData + "\n";
}

/** The events of a batch text, in order; their data stays serialized for the store. */
export function parseBatchText(text: string): EventToAppend[] {
  const events: EventToAppend[] = [];
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf("\n", start);
    const lineEnd = end === -1 ? text.length : end;
    const idEnd = text.indexOf("\t", start);
    const typeEnd = text.indexOf("\t", idEnd + 1);
    const versionEnd = text.indexOf("\t", typeEnd + 1);
    if (idEnd === -1 || typeEnd === -1 || versionEnd === -1 || versionEnd > lineEnd) {
      throw new Error(`malformed event line in a batch at offset ${start}`);
    }
    events.push({
      id: text.slice(start, idEnd),
      type: text.slice(idEnd + 1, typeEnd),
      version: Number(text.slice(typeEnd + 1, versionEnd)),
      data: undefined,
      serializedData: text.slice(versionEnd + 1, lineEnd),
    });
    start = lineEnd + 1;
  }
  return events;
}
