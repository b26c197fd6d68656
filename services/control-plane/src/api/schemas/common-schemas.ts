import { EntityId } from "@tollgate/events";
import { z } from "zod";

export const isoTime = z.iso.datetime({ offset: true });

/** Path parameters: every id in a path is an EntityId. */
export function idParams<const Name extends string>(...names: Name[]) {
  return z.object(Object.fromEntries(names.map((name) => [name, EntityId])) as Record<Name, typeof EntityId>);
}

export const AsOfQuery = z.strictObject({
  asOf: isoTime.optional().describe("Return the entity as it was at this instant, folded from its stream in the log"),
});

export const ReasonBody = z.strictObject({
  reason: z.string().max(500).nullable().default(null).describe("Why; recorded in the event"),
});

export const Versioned = {
  id: EntityId,
  version: z.number().int().describe("Revision of the entity's stream; also its ETag and the value for If-Match"),
  createdAt: isoTime,
  updatedAt: isoTime,
};

export const ProblemDocument = z
  .object({
    type: z.string().describe("urn:tollgate:problem:<code>"),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string(),
    code: z.string(),
    retryable: z.boolean(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional().describe("For invalid-request: every problem, by path"),
    currentVersion: z.number().int().optional().describe("For version-conflict: the entity's version now"),
  })
  .describe("RFC 9457 problem details");
