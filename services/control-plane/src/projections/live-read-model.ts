import { setTimeout as delay } from "node:timers/promises";
import { InvalidEventError, parseEvent, type TollgateEvent } from "@tollgate/events";
import { START, type EventFilter, type EventStore, type Position, type RecordedEvent, type Subscription } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import type { ProjectionTable } from "./projection-table.js";

export interface LiveReadModelOptions {
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tables of different state types share one subscription
  tables: readonly ProjectionTable<any, any>[];
  logger?: Logger;
  /** Wait before resubscribing after the store failed. Default 200 ms, doubled up to 5 s. */
  retryMs?: number;
}

interface Waiter {
  position: Position;
  resolve: (caughtUp: boolean) => void;
}

/**
 * Keeps projection tables live from the log: one catch-up subscription from the start
 * of the log, in memory, no checkpoint (a restart folds the log again).
 *
 * `version` is the position of the last event applied. Every table is updated before
 * `version` moves, so a reader that saw `version >= p` sees every change up to p: this
 * is what read-your-writes waits on after an append at position p.
 */
export class LiveReadModel {
  readonly name: string;
  readonly #tables: LiveReadModelOptions["tables"];
  readonly #filter: EventFilter;
  readonly #logger: Logger | undefined;
  readonly #retryMs: number;
  readonly #waiters = new Set<Waiter>();
  #version: Position = START;
  #eventsApplied = 0;
  #subscription: Subscription | undefined;
  #loop: Promise<void> | undefined;
  #stopped = false;

  constructor(options: LiveReadModelOptions) {
    this.name = options.name;
    this.#tables = options.tables;
    this.#filter = { eventTypes: [...new Set(options.tables.flatMap((table) => table.projection.canHandle as string[]))] };
    this.#logger = options.logger;
    this.#retryMs = options.retryMs ?? 200;
  }

  get version(): Position {
    return this.#version;
  }

  get eventsApplied(): number {
    return this.#eventsApplied;
  }

  /** Folds one recorded event into every table that handles it. Events at or before `version` are ignored. */
  apply(recorded: RecordedEvent): void {
    if (recorded.position <= this.#version) return;
    let event: TollgateEvent | undefined;
    try {
      event = parseEvent(recorded.type, recorded.version, recorded.data);
    } catch (error) {
      if (!(error instanceof InvalidEventError)) throw error;
      // One malformed event must not freeze the read model for every later change; it is
      // reported and skipped, and the version still moves past it.
      this.#logger?.error({ readModel: this.name, position: recorded.position.toString(), type: recorded.type, issues: error.issues }, "skipped an invalid event");
    }
    if (event) for (const table of this.#tables) if (table.canHandle(event.type)) table.apply(event, recorded);
    this.#version = recorded.position;
    this.#eventsApplied += 1;
    for (const waiter of this.#waiters) {
      if (waiter.position <= this.#version) {
        this.#waiters.delete(waiter);
        waiter.resolve(true);
      }
    }
  }

  /**
   * Subscribes from the start of the log and resolves once every matching event that
   * was in the log when it was called has been applied. Keeps following the log until
   * `stop`.
   */
  async start(store: EventStore): Promise<void> {
    if (this.#loop) throw new Error(`read model ${this.name} was already started`);
    const latest = await store.readLatest(1, this.#filter);
    const target = latest[0]?.position ?? START;
    this.#loop = this.#follow(store);
    if (!(await this.waitFor(target, Number.POSITIVE_INFINITY))) throw new Error(`read model ${this.name} stopped before catching up`);
  }

  /** Resolves true once `version >= position`, false after `timeoutMs` or when stopped. */
  waitFor(position: Position, timeoutMs: number): Promise<boolean> {
    if (this.#version >= position) return Promise.resolve(true);
    if (this.#stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        position,
        resolve: (caughtUp) => {
          if (timer) clearTimeout(timer);
          resolve(caughtUp);
        },
      };
      this.#waiters.add(waiter);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.#waiters.delete(waiter);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#subscription?.close();
    await this.#loop;
    for (const waiter of this.#waiters) waiter.resolve(false);
    this.#waiters.clear();
  }

  async #follow(store: EventStore): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        this.#subscription = store.subscribe({ from: this.#version, filter: this.#filter });
        for await (const recorded of this.#subscription) {
          this.apply(recorded);
          failures = 0;
        }
        if (this.#stopped) return;
        throw new Error("subscription ended");
      } catch (error) {
        if (this.#stopped) return;
        failures += 1;
        const waitMs = Math.min(5_000, this.#retryMs * 2 ** Math.min(failures - 1, 5));
        this.#logger?.warn({ readModel: this.name, err: error, retryInMs: waitMs }, "read model subscription failed; resubscribing");
        await delay(waitMs);
      }
    }
  }
}
