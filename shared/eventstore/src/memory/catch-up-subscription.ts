import type { Position, RecordedEvent, Subscription } from "../event-store.js";

/** What a catch-up subscription needs from an in-process store (the memory and SQLite adapters). */
export interface CatchUpSource {
  /** Exclusive. */
  from: Position;
  /** The next page of matching events after `from`, in position order; empty when caught up. */
  readPage(from: Position): RecordedEvent[];
  /** A counter that moves whenever the log may have grown. */
  version(): number;
  /** Resolves once `version()` differs from `seenVersion`, or at once when `signal` aborts. */
  waitForAppend(seenVersion: number, signal: AbortSignal): Promise<void>;
  /** Called once, when the subscription is closed or its iteration ends. */
  onClose(): void;
}

/**
 * Reads pages until it is caught up, then waits for the log to move and reads again.
 * Because every page starts right after the last delivered position and the store makes
 * positions visible in order, events arrive in position order and none is skipped.
 *
 * Iterate it once: every `[Symbol.asyncIterator]()` returns the same iterator, so a
 * consumer may pull some events, do something else, and pull the rest. Breaking out of
 * a `for await` loop closes it.
 */
export class CatchUpSubscription implements Subscription {
  readonly #source: CatchUpSource;
  readonly #closing = new AbortController();
  readonly #events: AsyncGenerator<RecordedEvent>;

  constructor(source: CatchUpSource) {
    this.#source = source;
    this.#events = this.#deliver();
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    return this.#events;
  }

  /** Ends the iteration: a pending `next()` resolves as done without waiting for the next append. */
  close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort();
      this.#source.onClose();
    }
    return Promise.resolve();
  }

  async *#deliver(): AsyncGenerator<RecordedEvent> {
    const closed = this.#closing.signal;
    let position = this.#source.from;
    try {
      while (!closed.aborted) {
        // The version is taken before the read, so an append that lands after the read
        // but before the wait still ends the wait.
        const seenVersion = this.#source.version();
        const page = this.#source.readPage(position);
        for (const event of page) {
          if (closed.aborted) return;
          yield event;
          position = event.position;
        }
        if (page.length === 0) await this.#source.waitForAppend(seenVersion, closed);
      }
    } finally {
      await this.close();
    }
  }
}
