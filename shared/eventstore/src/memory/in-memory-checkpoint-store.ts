import type { CheckpointStore, Position } from "../event-store.js";

/** Checkpoints for unit tests. Like the real stores, a projector is registered by its first `store`. */
export class InMemoryCheckpointStore implements CheckpointStore {
  readonly #positions = new Map<string, Position>();

  load(name: string): Promise<Position | null> {
    return Promise.resolve(this.#positions.get(name) ?? null);
  }

  store(name: string, position: Position): Promise<void> {
    this.#positions.set(name, position);
    return Promise.resolve();
  }

  list(): Promise<Map<string, Position>> {
    return Promise.resolve(new Map(this.#positions));
  }
}
