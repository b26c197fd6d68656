import type { EventStoreConfig } from "@tollgate/eventstore";
import type { RecorderConfig } from "./recorder-config.js";

/** Messages between the gateway's event loop and the append worker. */
export interface AppendWorkerData {
  store: EventStoreConfig;
  streamId: string;
  recorder: RecorderConfig;
}

export type ToAppendWorker =
  /**
   * The batch's events as UTF-8 lines (batch-text.ts) in the first `length` bytes of
   * `buffer`, which is shared, not copied: the gateway leaves it alone until the ack.
   */
  | { kind: "batch"; seq: number; buffer: SharedArrayBuffer; length: number; count: number }
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
