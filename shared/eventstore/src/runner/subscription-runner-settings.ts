import { z } from "zod";

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
