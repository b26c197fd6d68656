import { setTimeout as delay } from "node:timers/promises";
import { controlEventTypes, controlStreamCategories, InvalidEventError, parseEvent, streamPrefix, type ControlEvent } from "@tollgate/events";
import { START, type EventFilter, type EventStore, type Position, type RecordedEvent } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import type { IdentityIndex } from "./identity-index.js";

export interface ControlPlaneFollowerOptions {
  store: EventStore;
  index: IdentityIndex;
  logger?: Logger;
  /** How often the log is checked for changes; bounds how long a change takes to reach requests. Default 100 ms. */
  pollIntervalMs?: number;
  /** First wait after the store failed; doubled per failure up to 5 s. Default 200 ms. */
  retryMs?: number;
  /** Events per read. Default 500. */
  pageSize?: number;
}

const stopped: unique symbol = Symbol("stopped");

const controlPrefixes = controlStreamCategories.map((category) => streamPrefix(category));

/**
 * Control events by type and category. The SQLite adapter reads a type filter through
 * its (type, position) index: one probe finds the few control events among millions of
 * request events without reading any of those (about 15 µs when there is nothing new).
 */
export const controlEventFilter: EventFilter = { eventTypes: controlEventTypes, streamPrefixes: controlPrefixes };

/**
 * Keeps an IdentityIndex live from the log: catches up from position 0 at start, then
 * looks for new control events every `pollIntervalMs`, applying them one by one in
 * log order.
 *
 * Why it polls through the port instead of holding a subscription: a catch-up
 * subscription resumes from the last event it delivered, so between two control-plane
 * changes it re-reads from that same old position every time the log grows, which on
 * a gateway is every group commit (10 ms). The follower instead remembers how far it
 * has *looked* (`scanned`): every event at or before the head it read has been seen,
 * because the log makes positions visible in order. Each look reads the head (one
 * lookup) and, when the log moved, reads the control events after `scanned` by type.
 * Until session 9 a look walked every row appended since the last one, with a
 * category filter: about 0.3 µs a request event, 1-1.8% of a saturated gateway's main
 * thread; on SQLite the read by type is one index probe (about 15 µs) when nothing new
 * is there. On EventStoreDB it is a server-side filtered read of what was appended since.
 *
 * There is no checkpoint: the index lives in memory and is folded from the start on
 * every start (the control categories are small, and retention must not cut them).
 * When the store fails, the index keeps serving what it holds; the follower retries,
 * backing off up to 5 s, from where it was.
 */
export class ControlPlaneFollower {
  readonly #store: EventStore;
  readonly #index: IdentityIndex;
  readonly #logger: Logger | undefined;
  readonly #pollIntervalMs: number;
  readonly #retryMs: number;
  readonly #pageSize: number;
  readonly #caughtUpWaiters = new Set<() => void>();
  readonly #stopping = new AbortController();
  /** Every control event at or before this position has been applied. */
  #scanned: Position = START;
  #loop: Promise<void> | undefined;

  constructor(options: ControlPlaneFollowerOptions) {
    this.#store = options.store;
    this.#index = options.index;
    this.#logger = options.logger;
    this.#pollIntervalMs = options.pollIntervalMs ?? 100;
    this.#retryMs = options.retryMs ?? 200;
    this.#pageSize = options.pageSize ?? 500;
  }

  /**
   * Starts following and resolves once every control event that was in the log when
   * it was called has been applied; the index is then marked ready. Keeps following
   * until `stop`. Rejects only when stopped before that.
   */
  async start(): Promise<void> {
    if (this.#loop !== undefined) throw new Error("the control-plane follower was already started");
    const caughtUp = new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.#caughtUpWaiters.delete(done);
        if (this.#index.ready) resolve();
        else reject(new Error("the control-plane follower stopped before it caught up"));
      };
      this.#caughtUpWaiters.add(done);
    });
    this.#loop = this.#follow();
    await caughtUp;
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    for (const waiter of [...this.#caughtUpWaiters]) waiter();
  }

  async #follow(): Promise<void> {
    const signal = this.#stopping.signal;
    let failures = 0;
    while (!signal.aborted) {
      let waitMs = this.#pollIntervalMs;
      try {
        if (!(await this.#look())) return;
        failures = 0;
        if (!this.#index.ready) this.#markReady();
      } catch (error) {
        if (signal.aborted) return;
        failures += 1;
        waitMs = Math.min(5_000, this.#retryMs * 2 ** Math.min(failures - 1, 5));
        this.#logger?.warn({ err: error, retryInMs: waitMs, version: this.#index.version }, "following the control plane failed; serving the last state and retrying");
      }
      await delay(waitMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** One look at the log: applies every control event up to the head it reads first. False when stopped meanwhile. */
  async #look(): Promise<boolean> {
    const head = await this.#untilStopped(this.#store.headPosition());
    if (head === stopped) return false;
    if (head <= this.#scanned) return true;
    for (;;) {
      const page = await this.#untilStopped(this.#store.readAll({ from: this.#scanned, limit: this.#pageSize, filter: controlEventFilter }));
      if (page === stopped) return false;
      for (const recorded of page) this.#apply(recorded);
      const last = page.at(-1)?.position ?? this.#scanned;
      if (page.length < this.#pageSize) {
        // A short page holds every matching event up to the head read above: all of
        // them were visible when it was read, since positions become visible in order.
        this.#scanned = head > last ? head : last;
        return true;
      }
      this.#scanned = last;
    }
  }

  /**
   * The operation's outcome, or `stopped` as soon as stop() is called: a store that does
   * not answer must not hold up shutdown. The abort listener is removed once the
   * operation settles (racing against one long-lived promise would leak a reaction
   * per look).
   */
  #untilStopped<T>(operation: Promise<T>): Promise<T | typeof stopped> {
    const signal = this.#stopping.signal;
    if (signal.aborted) return Promise.resolve(stopped);
    return new Promise((resolve, reject) => {
      const onStop = (): void => resolve(stopped);
      signal.addEventListener("abort", onStop, { once: true });
      operation.then(
        (value) => {
          signal.removeEventListener("abort", onStop);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onStop);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  #apply(recorded: RecordedEvent): void {
    let event: ControlEvent;
    try {
      event = parseEvent(recorded.type, recorded.version, recorded.data) as ControlEvent;
    } catch (error) {
      if (!(error instanceof InvalidEventError)) throw error;
      // One malformed event must not freeze the gateway's view for every later change,
      // as it does not freeze the control plane's: reported, skipped, version moved on.
      this.#logger?.error({ position: recorded.position.toString(), type: recorded.type, issues: error.issues }, "skipped an invalid control-plane event");
      this.#index.skip(recorded.position);
      return;
    }
    this.#index.apply(event, recorded.position);
  }

  #markReady(): void {
    this.#index.markReady();
    this.#logger?.info(this.#index.stats(), "caught up with the control plane");
    for (const waiter of [...this.#caughtUpWaiters]) waiter();
  }
}
