import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { EventToAppend } from "@tollgate/eventstore";

/**
 * A local, append-only holding area for events that could not reach the event store.
 *
 * Events are written as JSON lines into numbered segment files. A segment is removed
 * only after every event in it was appended to the store, so a crash while draining
 * re-appends a whole segment; the store skips ids it already holds, which is what
 * makes the drain exactly-once in effect. A line torn by a crash mid-write is the
 * only thing that can be lost, and it is reported, never silently skipped.
 */
export interface SpoolDrainResult {
  appended: number;
  segmentsRemoved: number;
  tornLines: number;
}

const SEGMENT_SUFFIX = ".jsonl";

export class Spool {
  private activeFd: number | null = null;
  private activeBytes = 0;
  private nextSegmentNumber: number;
  private pendingEvents: number;

  constructor(
    readonly dir: string,
    private readonly maxSegmentBytes = 8 * 1024 * 1024,
  ) {
    mkdirSync(dir, { recursive: true });
    const segments = this.segments();
    const last = segments.at(-1);
    this.nextSegmentNumber = last === undefined ? 1 : segmentNumber(last) + 1;
    this.pendingEvents = segments.reduce((sum, name) => sum + countLines(join(dir, name)), 0);
  }

  /** Events written and not yet drained, including those left by an earlier process. */
  get pending(): number {
    return this.pendingEvents;
  }

  /** Written to the OS before returning (no fsync), so a process crash cannot lose them. */
  write(events: readonly EventToAppend[]): void {
    if (events.length === 0) return;
    let text = "";
    for (const event of events) text += JSON.stringify(event) + "\n";
    if (this.activeFd === null || this.activeBytes >= this.maxSegmentBytes) this.rotate();
    writeSync(this.activeFd!, text);
    this.activeBytes += Buffer.byteLength(text);
    this.pendingEvents += events.length;
  }

  /**
   * Appends every spooled event through `append`, oldest segment first, in batches of
   * at most `maxBatch`. Stops at the first failure and rethrows it; what was not
   * appended stays spooled.
   */
  async drain(append: (events: EventToAppend[]) => Promise<void>, maxBatch: number): Promise<SpoolDrainResult> {
    const result: SpoolDrainResult = { appended: 0, segmentsRemoved: 0, tornLines: 0 };
    this.closeActive();
    for (const name of this.segments()) {
      const path = join(this.dir, name);
      const { events, tornLines } = readSegment(path);
      result.tornLines += tornLines;
      for (let start = 0; start < events.length; start += maxBatch) {
        await append(events.slice(start, start + maxBatch));
      }
      rmSync(path);
      this.pendingEvents = Math.max(0, this.pendingEvents - events.length - tornLines);
      result.appended += events.length;
      result.segmentsRemoved += 1;
    }
    return result;
  }

  close(): void {
    this.closeActive();
  }

  private segments(): string[] {
    return readdirSync(this.dir)
      .filter((name) => name.endsWith(SEGMENT_SUFFIX) && /^\d+\./.test(name))
      .sort((a, b) => segmentNumber(a) - segmentNumber(b));
  }

  private rotate(): void {
    this.closeActive();
    const name = `${String(this.nextSegmentNumber++).padStart(10, "0")}${SEGMENT_SUFFIX}`;
    // drain() closes the active segment before reading, so it never reads a segment
    // that is still being written.
    this.activeFd = openSync(join(this.dir, name), "a");
    this.activeBytes = 0;
  }

  private closeActive(): void {
    if (this.activeFd === null) return;
    closeSync(this.activeFd);
    this.activeFd = null;
  }
}

function segmentNumber(name: string): number {
  return Number.parseInt(name, 10);
}

function countLines(path: string): number {
  const text = readFileSync(path, "utf8");
  let count = 0;
  for (let index = text.indexOf("\n"); index !== -1; index = text.indexOf("\n", index + 1)) count += 1;
  return count;
}

function readSegment(path: string): { events: EventToAppend[]; tornLines: number } {
  const events: EventToAppend[] = [];
  let tornLines = 0;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line === "") continue;
    try {
      events.push(JSON.parse(line) as EventToAppend);
    } catch {
      tornLines += 1;
    }
  }
  return { events, tornLines };
}

/** Bytes spooled in a folder; for metrics and tests. */
export function spoolSize(dir: string): number {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith(SEGMENT_SUFFIX))
      .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  } catch {
    return 0;
  }
}
