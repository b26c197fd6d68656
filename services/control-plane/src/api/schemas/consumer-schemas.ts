import { ConsumerProfile, EntityId } from "@tollgate/events";
import { z } from "zod";
import { Versioned } from "./common-schemas.js";

export const RegisterConsumerBody = z.strictObject({
  id: EntityId.optional().describe("The consumer's id; generated when absent"),
  name: ConsumerProfile.shape.name,
  email: ConsumerProfile.shape.email.default(null),
  labels: ConsumerProfile.shape.labels.default({}),
});

export const UpdateConsumerBody = z
  .strictObject({
    name: ConsumerProfile.shape.name.optional(),
    email: ConsumerProfile.shape.email.optional(),
    labels: ConsumerProfile.shape.labels.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "name at least one field to change");

export const ConsumerView = z.object({ ...Versioned, ...ConsumerProfile.shape });
export const ConsumerList = z.object({ items: z.array(ConsumerView) });
