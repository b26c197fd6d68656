import { subscriptionStatuses } from "@tollgate/credentials";
import { EntityId } from "@tollgate/events";
import { z } from "zod";
import { Versioned } from "./common-schemas.js";

export const StartSubscriptionBody = z.strictObject({
  id: EntityId.optional().describe("The subscription's id; generated when absent"),
  consumerId: EntityId,
  planId: EntityId,
  billingAnchor: z.iso
    .datetime()
    .optional()
    .describe("Aligns quota and billing periods to this instant (ISO 8601, UTC); absent: calendar days and months"),
});

export const SelfServiceSubscribeBody = z.strictObject({ planId: EntityId.describe("A public plan") });

export const ChangePlanBody = z.strictObject({ planId: EntityId });

export const ListSubscriptionsQuery = z.strictObject({ consumerId: EntityId.optional(), planId: EntityId.optional() });

export const SubscriptionView = z.object({
  ...Versioned,
  consumerId: EntityId,
  planId: EntityId,
  status: z.enum(subscriptionStatuses),
  billingAnchor: z.iso.datetime().nullable().describe("What quota and billing periods are aligned to; null: calendar periods"),
});
export const SubscriptionList = z.object({ items: z.array(SubscriptionView) });
