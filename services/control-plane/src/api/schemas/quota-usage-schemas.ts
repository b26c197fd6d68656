import { EntityId, Quota } from "@tollgate/events";
import { z } from "zod";
import { isoTime } from "./common-schemas.js";

export const QuotaUsageView = z.object({
  subscriptionId: EntityId,
  planId: EntityId,
  period: z.enum(["day", "month"]).describe("The plan's quota period; month for a plan without a quota"),
  periodStart: isoTime.describe("Start of the current period (inclusive), aligned to the billing anchor when there is one"),
  periodEnd: isoTime.describe("End of the current period (exclusive): when the quota resets"),
  billingAnchor: isoTime.nullable().describe("What the periods are aligned to; null: calendar days and months, UTC"),
  quota: Quota.nullable().describe("The plan's quota; null when it has none"),
  requests: z.number().int().describe("Request events of the subscription in the period, refused ones included"),
  admitted: z.number().int().describe("Requests that got past the gateway's quota stage (each took a unit from the counter)"),
  billable: z.number().int().describe("Admitted requests the plan bills: what counts against the quota"),
  remaining: z.number().int().nullable().describe("quota.limit - billable, never below 0; null without a quota"),
  projected: z
    .boolean()
    .describe("true: counted by the quota projector from the log; false: its store does not exist yet (or is being rebuilt), and the counts are zero"),
  checkpointPosition: z
    .string()
    .nullable()
    .describe("The counts include every event of the log up to this position (the projector's checkpoint); null before its first batch"),
});
