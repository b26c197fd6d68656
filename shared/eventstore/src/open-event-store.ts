import type { CheckpointStore, EventStore } from "./event-store.js";
import type { EventStoreConfig } from "./event-store-config.js";
import type { SupportsRetention } from "./retention/supports-retention.js";
import { SqliteEventStore } from "./sqlite/sqlite-event-store.js";

export interface OpenedEventStore {
  /** Both adapters support retention today; the type leaves room for one that does not (check with `supportsRetention`). */
  store: EventStore & Partial<SupportsRetention>;
  /** Shares the store's connection: closing the store closes it too. */
  checkpoints: CheckpointStore;
}

/**
 * Opens the event log a service's config names. Every service goes through here, so
 * they all agree on where the log and the checkpoints live.
 *
 * SQLite opens the file now, and rejects now if it cannot. EventStoreDB connects on
 * first use: a server that is down shows up as StoreUnavailableError from the first
 * operation, so a projector can start and back off instead of crashing at boot. The
 * EventStoreDB adapter (and gRPC with it, some 80 ms of startup) is only loaded when
 * the config asks for it, so an embedded install never pays for it.
 */
export async function openEventStore(config: EventStoreConfig): Promise<OpenedEventStore> {
  switch (config.kind) {
    case "sqlite": {
      const store = SqliteEventStore.open({
        file: config.file,
        synchronous: config.synchronous,
        busyTimeoutMs: config.busyTimeoutMs,
      });
      return { store, checkpoints: store.checkpointStore() };
    }
    case "eventstoredb": {
      const [{ EventStoreDbEventStore }, { EventStoreDbCheckpointStore }] = await Promise.all([
        import("./esdb/esdb-event-store.js"),
        import("./esdb/esdb-checkpoint-store.js"),
      ]);
      const store = EventStoreDbEventStore.connect(config.connectionString);
      return { store, checkpoints: new EventStoreDbCheckpointStore(store.client) };
    }
  }
}
