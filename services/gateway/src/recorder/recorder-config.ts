import { z } from "zod";

export const RecorderConfig = z
  .object({
    flushIntervalMs: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(10)
      .describe("Group-commit window: buffered events are handed to the appender at least this often. A kill -9 loses at most this window"),
    maxBatchSize: z.number().int().min(1).max(10_000).default(1_000).describe("Largest batch appended in one transaction"),
    spoolDir: z.string().min(1).default("./data/spool").describe("Folder where events wait while the event store is unavailable"),
    storeTimeoutMs: z
      .number()
      .int()
      .min(10)
      .max(30_000)
      .default(500)
      .describe("How long one append may wait for the store before its batch goes to the spool"),
    retryIntervalMs: z.number().int().min(10).max(60_000).default(1_000).describe("How often an unavailable store is tried again"),
  })
  .describe("Batched event appender");

export type RecorderConfig = z.infer<typeof RecorderConfig>;
