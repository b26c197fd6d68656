import type { EventStoreConfig } from "@tollgate/eventstore";
import type { RecorderConfig } from "./recorder-config.js";

/** Messages between the gateway's event loop and the append worker. */
export interface AppendWorkerData {
  store: EventStoreConfig;
  streamId: string;
  recorder: RecorderConfig;
}

export type ToAppendWorker =
  /** `text`: the batch's events as lines (batch-text.ts), copied across in one piece. */
  | { kind: "batch"; seq: number; text: string; count: number }
  | { kind: "flush"; seq: number }
  | { kind: "close"; seq: number; drainTimeoutMs: number };

export interface AppendWorkerStats {
  storeUp: boolean;
  committed: number;
  spooled: number;
  tornLines: number;
}

export type FromAppendWorker =
  | { kind: "ready"; stats: AppendWorkerStats }
  | { kind: "ack"; seq: number; stats: AppendWorkerStats }
  | { kind: "flushed"; seq: number; stats: AppendWorkerStats }
  | { kind: "closed"; seq: number; stats: AppendWorkerStats }
  | { kind: "log"; level: "info" | "warn" | "error"; msg: string; detail?: Record<string, unknown> };
