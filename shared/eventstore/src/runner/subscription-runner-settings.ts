import { z } from "zod";
import { EventStoreConfig } from "../event-store-config.js";

/** The tunable part of a runner, for embedding in a projector service's config schema. */
export const SubscriptionRunnerSettings = z
  .object({
    maxBatchSize: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(500)
      .describe("Most events handed to the projector in one call (and covered by one checkpoint write)"),
    maxBatchWaitMs: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(100)
      .describe("After the first event of a batch arrives, how long to wait for more before handling it"),
    backoffInitialMs: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe("Delay before re-delivering after the first failure; doubles with each consecutive failure"),
    backoffMaxMs: z
      .number()
      .int()
      .min(1)
      .default(30_000)
      .describe("Ceiling of the retry delay"),
  })
  .refine((settings) => settings.backoffMaxMs >= settings.backoffInitialMs, {
    message: "backoffMaxMs must be at least backoffInitialMs",
    path: ["backoffMaxMs"],
  })
  .describe("How a projector's subscription runner batches and retries");

export type SubscriptionRunnerSettings = z.infer<typeof SubscriptionRunnerSettings>;

/**
 * The fields every projector service's config starts with: its checkpoint's `name`, and
 * the `eventStore` it reads (the embedded SQLite log by default). Spread into the
 * service's schema: `z.strictObject({ ...projectorServiceFields("quota-projector"), … })`.
 */
export function projectorServiceFields(defaultName: string, nameDescription = "The checkpoint's name; changing it starts the projection over") {
  return {
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)
      .default(defaultName)
      .describe(nameDescription),
    eventStore: EventStoreConfig.default({ kind: "sqlite", file: "./data/events.db", synchronous: "normal", busyTimeoutMs: 5_000 }),
  };
}
