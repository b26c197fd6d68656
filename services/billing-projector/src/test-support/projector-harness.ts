import { randomUUID } from "node:crypto";
import type { TollgateEvent } from "@tollgate/events";
import type { EventStore } from "@tollgate/eventstore";
import { createBillingProjector } from "../billing-projector.js";
import type { SqliteBillingStore } from "../sqlite-billing-store.js";
import type { MeterEventRequest, MeterEventSender } from "../stripe-meter-sender.js";

/** A Stripe that keeps each meter event once per identifier, as Stripe does. */
export class CountingStripe implements MeterEventSender {
  readonly events: MeterEventRequest[] = [];
  send(event: MeterEventRequest): Promise<void> {
    if (!this.events.some((seen) => seen.identifier === event.identifier)) this.events.push(event);
    return Promise.resolve();
  }
  total(): number {
    return this.events.reduce((sum, event) => sum + event.value, 0);
  }
}

/** The stream a fixture event is appended to, as the platform names them. */
function fixtureStreamOf(event: TollgateEvent): string {
  if (event.type.startsWith("Request")) return "requests-gw-1";
  if (event.type.startsWith("Plan")) return `plan-${(event.data as { planId: string }).planId}`;
  if (event.type.startsWith("Consumer")) return `consumer-${(event.data as { consumerId: string }).consumerId}`;
  return `subscription-${(event.data as { subscriptionId: string }).subscriptionId}`;
}

/** Appends fixture events to the log, each on the stream the platform would use. */
export async function appendFixtures(log: EventStore, events: readonly TollgateEvent[]): Promise<void> {
  for (const event of events) await log.append(fixtureStreamOf(event), [{ id: randomUUID(), type: event.type, version: 1, data: event.data }]);
}

/** What the subscription runner does: the projector's filter, from the store's checkpoint, in batches of 3. */
export async function projectLog(log: EventStore, store: SqliteBillingStore): Promise<void> {
  const projector = createBillingProjector({ store });
  for (;;) {
    const from = (await store.loadCheckpoint()) ?? 0n;
    const batch = await log.readAll({ from, limit: 3, filter: projector.filter });
    if (batch.length === 0) return;
    await store.applyBatch(batch, batch.at(-1)!.position);
  }
}
