export type * from "./event-recorder.js";
export * from "./memory-event-recorder.js";
export * from "./recorder-config.js";
export * from "./spool.js";
export * from "./worker-event-recorder.js";
export * from "./create-event-recorder.js";
export type { AppendWorkerStats } from "./append-protocol.js";
