import type { RequestEvent } from "@tollgate/events";
import type { EventRecorder } from "./event-recorder.js";

/** Keeps events in an array. For tests of code that records events. */
export class MemoryEventRecorder implements EventRecorder {
  readonly events: RequestEvent[] = [];
  closed = false;

  record(event: RequestEvent): void {
    this.events.push(event);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
