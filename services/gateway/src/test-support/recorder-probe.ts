import type { RequestEvent } from "@tollgate/events";
import type { EventRecorder } from "../recorder/event-recorder.js";

/** An in-memory recorder that tests can wait on, instead of sleeping. */
export class RecorderProbe implements EventRecorder {
  readonly events: RequestEvent[] = [];
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  record(event: RequestEvent): void {
    this.events.push(event);
    for (const waiter of [...this.waiters]) {
      if (this.events.length >= waiter.count) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  /** Resolves once at least `count` events were recorded in total. */
  async waitFor(count: number, timeoutMs = 5_000): Promise<RequestEvent[]> {
    if (this.events.length < count) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${count} events, got ${this.events.length}`)), timeoutMs);
        this.waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    }
    return this.events;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
