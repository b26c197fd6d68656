import { z } from "zod";
import { BillingEvent } from "./billing-events.js";
import { ControlEvent } from "./control-events.js";
import { GatewayEvent } from "./gateway-events.js";
import { RequestEvent } from "./request-events.js";

/** Every event the platform records. New families are added to this union. */
export const TollgateEvent = z.discriminatedUnion("type", [...RequestEvent.options, ...ControlEvent.options, ...BillingEvent.options, ...GatewayEvent.options]);
export type TollgateEvent = z.infer<typeof TollgateEvent>;
export type TollgateEventType = TollgateEvent["type"];

export class InvalidEventError extends Error {
  constructor(
    readonly eventType: string,
    readonly issues: string[],
  ) {
    super(`invalid ${eventType} event: ${issues.join("; ")}`);
    this.name = "InvalidEventError";
  }
}

/** Validates a stored `{ type, data }` pair against its schema. */
export function parseEvent(type: string, version: number, data: unknown): TollgateEvent {
  const result = TollgateEvent.safeParse({ type, version, data });
  if (!result.success) {
    throw new InvalidEventError(
      type,
      result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`),
    );
  }
  return result.data;
}
