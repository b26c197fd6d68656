import type { TollgateEvent } from "@tollgate/events";
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
export function fixtureStreamOf(event: TollgateEvent): string {
  if (event.type.startsWith("Request")) return "requests-gw-1";
  if (event.type.startsWith("Plan")) return `plan-${(event.data as { planId: string }).planId}`;
  if (event.type.startsWith("Consumer")) return `consumer-${(event.data as { consumerId: string }).consumerId}`;
  return `subscription-${(event.data as { subscriptionId: string }).subscriptionId}`;
}
