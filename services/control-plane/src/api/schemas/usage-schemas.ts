import { EntityId } from "@tollgate/events";
import { z } from "zod";
import { isoTime } from "./common-schemas.js";

export const UsageReport = z.object({
  consumerId: EntityId,
  requests: z.object({
    total: z.number().int(),
    completed: z.number().int().describe("RequestCompleted events"),
    rejected: z.number().int().describe("RequestRejected events (rate limit, quota, auth…)"),
    failed: z.number().int().describe("RequestFailed events"),
    lastRequestAt: isoTime.nullable(),
  }),
  countedThroughPosition: z.string().describe("Every request event up to this log position is counted"),
});
