import type { RecordedEvent, Subscription } from "../event-store.js";

const timedOut = Symbol("timed out");

/**
 * Pulls exactly `count` events from a subscription, or fails once `timeoutMs` has passed.
 * It calls `next()` directly rather than `for await`, because leaving a `for await` loop
 * closes the subscription, and a test often pulls some events, appends, and pulls more.
 */
export async function collectEvents(subscription: Subscription, count: number, timeoutMs = 5_000): Promise<RecordedEvent[]> {
  const iterator = subscription[Symbol.asyncIterator]();
  const events: RecordedEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (events.length < count) {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<typeof timedOut>((resolve) => {
      timer = setTimeout(() => resolve(timedOut), Math.max(0, deadline - Date.now()));
    });
    const result = await Promise.race([iterator.next(), expired]).finally(() => clearTimeout(timer));
    if (result === timedOut) throw new Error(`received ${events.length} of ${count} events within ${timeoutMs} ms`);
    if (result.done) throw new Error(`subscription ended after ${events.length} of ${count} events`);
    events.push(result.value);
  }
  return events;
}
