import {
  BACKWARDS,
  END,
  ErrorType,
  type EventStoreDBClient,
  jsonEvent,
  type ResolvedEvent,
} from "@eventstore/db-client";
import type { CheckpointStore, Position } from "../event-store.js";
import { toEsdbEventId } from "./esdb-event-mapping.js";
import { internalStreamPrefix } from "./esdb-filter-plan.js";
import { hasEsdbErrorType } from "./has-esdb-error-type.js";
import { toPortError } from "./to-port-error.js";

/** One stream per projector, holding only its latest checkpoint. */
export function checkpointStreamOf(name: string): string {
  return `${internalStreamPrefix}checkpoint-${name}`;
}

/** Every projector that ever stored a checkpoint, one event each, in the order they first did. */
export const projectorRegistryStream = `${internalStreamPrefix}projectors`;

const checkpointStored = "CheckpointStored";
const projectorRegistered = "ProjectorRegistered";

/**
 * Checkpoints in EventStoreDB itself, so a projector needs no second database to resume.
 *
 * Each projector has a stream with `$maxCount` 1: every store appends one event and the
 * server keeps only the latest. A registry stream names every projector, so `list()`
 * (and through it, retention) knows whom to wait for. Registration comes before the
 * first checkpoint is written, so there is never a checkpoint that `list()` cannot see.
 * These streams are hidden from the event store's reads and subscriptions.
 */
export class EventStoreDbCheckpointStore implements CheckpointStore {
  readonly #client: EventStoreDBClient;
  /** Names registered by this process; the registry is append-only, so a name stays registered. */
  readonly #registered = new Set<string>();

  /** The client is borrowed: whoever created it (usually the event store) closes it. */
  constructor(client: EventStoreDBClient) {
    this.#client = client;
  }

  async load(name: string): Promise<Position | null> {
    try {
      const [latest] = await this.#read(checkpointStreamOf(name), { fromRevision: END, direction: BACKWARDS, maxCount: 1 });
      return latest ? positionIn(latest) : null;
    } catch (error) {
      throw toPortError(error, { operation: "load checkpoint", streamId: checkpointStreamOf(name) });
    }
  }

  async store(name: string, position: Position): Promise<void> {
    try {
      if (!this.#registered.has(name)) await this.#register(name);
      await this.#client.appendToStream(
        checkpointStreamOf(name),
        jsonEvent({ type: checkpointStored, data: { name, position: position.toString() } }),
      );
    } catch (error) {
      throw toPortError(error, { operation: "store checkpoint", streamId: checkpointStreamOf(name) });
    }
  }

  async list(): Promise<Map<string, Position>> {
    try {
      const names = new Set<string>();
      for (const resolved of await this.#read(projectorRegistryStream, {})) {
        const data = resolved.event?.data as { name?: unknown } | undefined;
        if (typeof data?.name === "string") names.add(data.name);
      }
      const checkpoints = new Map<string, Position>();
      for (const name of names) {
        const position = await this.load(name);
        if (position !== null) checkpoints.set(name, position);
      }
      return checkpoints;
    } catch (error) {
      throw toPortError(error, { operation: "list checkpoints", streamId: projectorRegistryStream });
    }
  }

  async #register(name: string): Promise<void> {
    // $maxCount first: it must be in place before the stream can grow. Setting it again is harmless.
    await this.#client.setStreamMetadata(checkpointStreamOf(name), { maxCount: 1 });
    // A name-based id makes a concurrent or repeated registration a duplicate the server
    // can drop; `list()` tolerates one that slips through.
    await this.#client.appendToStream(
      projectorRegistryStream,
      jsonEvent({ id: toEsdbEventId(`projector:${name}`), type: projectorRegistered, data: { name } }),
    );
    this.#registered.add(name);
  }

  async #read(
    streamId: string,
    options: Parameters<EventStoreDBClient["readStream"]>[1],
  ): Promise<ResolvedEvent[]> {
    const events: ResolvedEvent[] = [];
    try {
      for await (const resolved of this.#client.readStream(streamId, options)) events.push(resolved);
    } catch (error) {
      if (hasEsdbErrorType(error, ErrorType.STREAM_NOT_FOUND)) return [];
      throw error;
    }
    return events;
  }
}

function positionIn(resolved: ResolvedEvent): Position | null {
  const data = resolved.event?.data as { position?: unknown } | undefined;
  return typeof data?.position === "string" && /^\d+$/.test(data.position) ? BigInt(data.position) : null;
}
