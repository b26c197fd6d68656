import type { EventRecorder } from "./event-recorder.js";
import type { AppendWorkerStats } from "./append-protocol.js";
import { WorkerEventRecorder, type EventRecorderOptions } from "./worker-event-recorder.js";

export type RunningEventRecorder = EventRecorder & { readonly latestStats: AppendWorkerStats; readonly recorded: number };

/** Starts the gateway's recorder: group commit in a worker thread, with a local spool. */
export function createEventRecorder(options: EventRecorderOptions): Promise<RunningEventRecorder> {
  return WorkerEventRecorder.start(options);
}
