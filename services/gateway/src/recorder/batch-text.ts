import type { EventToAppend } from "@tollgate/eventstore";

/**
 * How a batch of events crosses from the gateway's event loop to the append worker: UTF-8
 * lines in a SharedArrayBuffer, one line per event, its fields separated by tabs (id,
 * type, version, data).
 *
 * The event loop encodes each event's line into the batch's buffer as it is recorded,
 * and hands over only a reference to the buffer: nothing is copied across threads, and
 * no batch-sized string lives on the gateway's heap, where it would survive young
 * collections until the worker acknowledged it. The buffer stays readable by the event
 * loop, so a batch can be handed again to a fresh worker if one dies. The data is
 * `JSON.stringify` output, which never holds a raw tab or newline (JSON escapes them
 * inside strings and adds no whitespace of its own), and ids and type names never do
 * either, so the separators are unambiguous.
 */
export function batchLine(id: string, type: string, version: number, serializedData: string): string {
  return id + "\t" + type + "\t" + version + "\t" + serializedData + "\n";
}

const TAB = 0x09;
const NEWLINE = 0x0a;

/** Most UTF-8 bytes a string of this length can take (a UTF-16 unit encodes to at most 3 bytes). */
export function maxUtf8Bytes(text: string): number {
  return text.length * 3;
}

/**
 * The lines of one batch, written into a buffer that is shared with the append worker.
 * `append` refuses (returns false) a line that might not fit; the recorder then hands
 * the batch over and starts a new one, and gives a line that no buffer of the usual
 * size can hold a buffer of its own size.
 */
export class BatchBuffer {
  readonly bytes: Buffer;
  length = 0;
  count = 0;

  constructor(readonly shared: SharedArrayBuffer) {
    this.bytes = Buffer.from(shared);
  }

  static allocate(byteLength: number): BatchBuffer {
    return new BatchBuffer(new SharedArrayBuffer(byteLength));
  }

  append(line: string): boolean {
    if (this.length + maxUtf8Bytes(line) > this.bytes.length) return false;
    this.length += this.bytes.write(line, this.length, "utf8");
    this.count += 1;
    return true;
  }

  reset(): void {
    this.length = 0;
    this.count = 0;
  }
}

/** The events of a batch's bytes, in order; their data stays serialized for the store. */
export function parseBatchBytes(bytes: Uint8Array): EventToAppend[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: EventToAppend[] = [];
  let start = 0;
  while (start < buffer.length) {
    const end = buffer.indexOf(NEWLINE, start);
    const lineEnd = end === -1 ? buffer.length : end;
    const idEnd = buffer.indexOf(TAB, start);
    const typeEnd = idEnd === -1 ? -1 : buffer.indexOf(TAB, idEnd + 1);
    const versionEnd = typeEnd === -1 ? -1 : buffer.indexOf(TAB, typeEnd + 1);
    if (idEnd === -1 || typeEnd === -1 || versionEnd === -1 || versionEnd > lineEnd) {
      throw new Error(`malformed event line in a batch at byte ${start}`);
    }
    events.push({
      id: buffer.toString("latin1", start, idEnd),
      type: buffer.toString("latin1", idEnd + 1, typeEnd),
      version: Number(buffer.toString("latin1", typeEnd + 1, versionEnd)),
      data: undefined,
      serializedData: buffer.toString("utf8", versionEnd + 1, lineEnd),
    });
    start = lineEnd + 1;
  }
  return events;
}
