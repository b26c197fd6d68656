import { randomUUID } from "node:crypto";
import type { GatewayEvent } from "@tollgate/events";
import type { EventStore } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";

export interface GatewayEventLogOptions {
  store: Pick<EventStore, "append">;
  streamId: string;
  logger: Logger;
  /** Pause between tries while the store refuses. Default 1,000 ms. */
  retryAfterMs?: number;
  /** Events kept while the store refuses; the oldest are dropped past it (and counted in the log). Default 1,000. */
  maxQueued?: number;
}

/**
 * The gateway's own events (circuit breaker state changes) on its `gateway-<id>` stream,
 * appended one at a time, in order, from the main thread: they are rare, so they do not
 * need the request recorder's worker, batches or spool. Each event's id is fixed when it
 * is queued, so a retry after an append whose answer was lost is a no-op in the store.
 * While the store refuses, events wait (bounded) and are retried; `close` tries what is
 * left once.
 */
export class GatewayEventLog {
  readonly #options: GatewayEventLogOptions;
  readonly #queue: { id: string; event: GatewayEvent }[] = [];
  #draining: Promise<void> | null = null;
  #closed = false;
  #dropped = 0;

  constructor(options: GatewayEventLogOptions) {
    this.#options = options;
  }

  record(event: GatewayEvent): void {
    if (this.#closed) return;
    this.#queue.push({ id: randomUUID(), event });
    if (this.#queue.length > (this.#options.maxQueued ?? 1_000)) {
      this.#queue.shift();
      this.#dropped += 1;
    }
    this.#draining ??= this.#drain().finally(() => (this.#draining = null));
  }

  /** Resolves once every event recorded so far is appended (or the log was closed). */
  async flush(): Promise<void> {
    while (this.#draining !== null) await this.#draining;
  }

  /** Stops retrying; one last try for what is queued. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    if (this.#queue.length > 0) await this.#appendHead().catch(() => undefined);
    if (this.#queue.length > 0 || this.#dropped > 0) {
      this.#options.logger.warn({ unrecorded: this.#queue.length, dropped: this.#dropped }, "gateway events not recorded at shutdown");
    }
  }

  async #drain(): Promise<void> {
    let failures = 0;
    while (this.#queue.length > 0) {
      try {
        await this.#appendHead();
        failures = 0;
      } catch (error) {
        failures += 1;
        if (failures === 1) this.#options.logger.warn({ err: error, queued: this.#queue.length }, "could not record a gateway event; retrying");
        if (this.#closed) return;
        await new Promise((resolve) => setTimeout(resolve, this.#options.retryAfterMs ?? 1_000).unref());
      }
    }
  }

  async #appendHead(): Promise<void> {
    const head = this.#queue[0];
    if (head === undefined) return;
    const { event } = head;
    await this.#options.store.append(this.#options.streamId, [{ id: head.id, type: event.type, version: event.version, data: event.data }], { expectedRevision: "any" });
    this.#queue.shift();
  }
}
