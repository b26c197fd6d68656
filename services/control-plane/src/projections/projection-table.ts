import type { TollgateEvent } from "@tollgate/events";
import type { RecordedEvent } from "@tollgate/eventstore";
import type { EntityRecord } from "./entity-record.js";
import type { KeyedProjection } from "./keyed-projection.js";

/** The states of one keyed projection, one per key, plus its lookup index. */
export class ProjectionTable<State, Event extends TollgateEvent = TollgateEvent> {
  readonly projection: KeyedProjection<State, Event>;
  readonly #records = new Map<string, EntityRecord<State>>();
  readonly #index = new Map<string, string>();
  readonly #handles: ReadonlySet<string>;

  constructor(projection: KeyedProjection<State, Event>) {
    this.projection = projection;
    this.#handles = new Set(projection.canHandle);
  }

  canHandle(type: string): boolean {
    return this.#handles.has(type);
  }

  /** Folds one event into its key's state. The caller passes only events this table can handle. */
  apply(event: Event, recorded: RecordedEvent): void {
    const key = this.projection.keyOf(event, recorded);
    if (key === null) return;
    const before = this.#records.get(key);
    const state = this.projection.evolve(before ? before.state : this.projection.initialState, event);
    this.#records.set(key, {
      id: key,
      state,
      revision: recorded.revision,
      position: recorded.position,
      createdAt: before?.createdAt ?? recorded.recordedAt,
      updatedAt: recorded.recordedAt,
    });
    if (!this.projection.indexBy) return;
    if (before) for (const lookup of this.projection.indexBy(before.state)) if (this.#index.get(lookup) === key) this.#index.delete(lookup);
    for (const lookup of this.projection.indexBy(state)) this.#index.set(lookup, key);
  }

  get(key: string): EntityRecord<State> | undefined {
    return this.#records.get(key);
  }

  /** The record whose state lists `lookup` among its index keys. */
  find(lookup: string): EntityRecord<State> | undefined {
    const key = this.#index.get(lookup);
    return key === undefined ? undefined : this.#records.get(key);
  }

  values(): IterableIterator<EntityRecord<State>> {
    return this.#records.values();
  }

  get size(): number {
    return this.#records.size;
  }
}
