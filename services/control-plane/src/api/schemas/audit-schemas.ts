import { Actor } from "@tollgate/events";
import { z } from "zod";
import { isoTime } from "./common-schemas.js";

export const AuditQuery = z.strictObject({
  entity: z
    .string()
    .regex(/^[a-z]+(-[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$/, "a category (plan) or a stream (plan-gold)")
    .optional()
    .describe("A category (plan, consumer, credential, subscription, route) or one entity's stream (plan-gold); absent for all"),
  since: isoTime.optional().describe("Only changes recorded at or after this instant"),
  actor: z.string().min(1).max(200).optional().describe("Only changes by this actor id"),
  after: z.string().regex(/^\d{1,19}$/).optional().describe("Resume after this log position: the `next` of the previous page"),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});

export const AuditEntry = z.object({
  position: z.string().describe("Log position, a decimal string"),
  at: isoTime.describe("When the change was recorded"),
  entity: z.object({ kind: z.string(), id: z.string() }),
  version: z.number().int().describe("The entity's version after the change"),
  type: z.string().describe("The event type, e.g. PlanUpdated"),
  actor: Actor.nullable(),
  change: z.record(z.string(), z.unknown()).describe("The event's data; stored credential material is shown as [redacted]"),
});

export const AuditPage = z.object({ entries: z.array(AuditEntry), next: z.string().nullable() });
