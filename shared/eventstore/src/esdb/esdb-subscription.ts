import type { AllStreamSubscription } from "@eventstore/db-client";
import { type Position, type RecordedEvent, StoreUnavailableError, type Subscription } from "../event-store.js";
import { fromEsdbEvent } from "./esdb-event-mapping.js";
import type { EsdbFilterPlan } from "./esdb-filter-plan.js";
import { fromEsdbPosition } from "./esdb-position.js";
import { toPortError } from "./to-port-error.js";

/**
 * The port's subscription over a catch-up subscription to $all. The server filters on
 * one field; this applies the exact port filter, hides system and adapter events, and
 * drops anything at or before the last delivered position (which covers `from` itself).
 */
export class EsdbSubscription implements Subscription {
  readonly #inner: AllStreamSubscription;
  readonly #plan: EsdbFilterPlan;
  readonly #events: AsyncGenerator<RecordedEvent>;
  readonly #onClose: () => void;
  #last: Position;
  #closed = false;

  constructor(inner: AllStreamSubscription, from: Position, plan: EsdbFilterPlan, onClose: () => void) {
    this.#inner = inner;
    this.#plan = plan;
    this.#last = from;
    this.#onClose = onClose;
    // Until someone iterates, errors (for example, the server being down) have no reader;
    // they are raised again by the iteration, which is where the caller handles them.
    inner.on("error", () => undefined);
    this.#events = this.#deliver();
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    return this.#events;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    await this.#inner.unsubscribe();
    // Cancelling the call does not always end the stream; destroying it ends a pending iteration.
    this.#inner.destroy();
  }

  async *#deliver(): AsyncGenerator<RecordedEvent> {
    try {
      for await (const resolved of this.#inner) {
        const event = resolved.event;
        if (!event) continue;
        const position = fromEsdbPosition(event.position);
        if (position <= this.#last) continue;
        this.#last = position;
        if (this.#plan.accepts(event.streamId, event.type)) yield fromEsdbEvent(event, position);
      }
      // A catch-up subscription has no natural end: the server dropped it.
      if (!this.#closed) throw new StoreUnavailableError("EventStoreDB ended the subscription");
    } catch (error) {
      if (this.#closed) return;
      throw toPortError(error, { operation: "subscribe" });
    } finally {
      await this.close();
    }
  }
}
