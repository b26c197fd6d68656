export * from "./event-store.js";
export * from "./event-store-config.js";
export * from "./memory/in-memory-event-store.js";
export * from "./memory/in-memory-checkpoint-store.js";
export * from "./sqlite/sqlite-event-store.js";
export * from "./sqlite/sqlite-checkpoint-store.js";
export * from "./sqlite/open-sqlite-database.js";
export { SQLITE_SCHEMA_VERSION } from "./sqlite/sqlite-schema.js";
export * from "./retention/supports-retention.js";
export * from "./retention/retention-policy.js";
export * from "./retention/apply-retention.js";
export * from "./open-event-store.js";
// Types only: importing the EventStoreDB adapter loads gRPC, so it is loaded on demand by
// openEventStore({ kind: "eventstoredb" }) rather than by every importer of this package.
export type { EventStoreDbEventStore, EventStoreDbEventStoreOptions } from "./esdb/esdb-event-store.js";
export type { EventStoreDbCheckpointStore } from "./esdb/esdb-checkpoint-store.js";
export type * from "./runner/projector.js";
export * from "./runner/subscription-runner.js";
export * from "./runner/subscription-runner-settings.js";
export * from "./runner/backoff-delay.js";
export * from "./runner/runner-timers.js";
export * from "./time-ordered-uuid.js";
