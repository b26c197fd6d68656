import { AnalyticsStoreConfig } from "@tollgate/analytics";
import { projectorServiceFields, SubscriptionRunnerSettings } from "@tollgate/eventstore";
import { logLevels, type LogLevel } from "@tollgate/observability";
import { z } from "zod";

export const AnalyticsProjectorConfig = z.strictObject({
  ...projectorServiceFields("analytics-projector"),
  analytics: AnalyticsStoreConfig.prefault({}).describe("Where the projection is written: ClickHouse, or the embedded SQLite file (CLICKHOUSE_URL selects ClickHouse)"),
  runner: SubscriptionRunnerSettings.prefault({ maxBatchSize: 5_000, maxBatchWaitMs: 1_000 }).describe(
    "Batches: thousands of rows or about 1 s, whichever comes first (one INSERT per batch)",
  ),
  retention: z
    .strictObject({
      rawDays: z.number().int().min(1).max(3_650).default(30).describe("Raw request rows older than this are removed (rollups are kept)"),
      intervalMs: z.number().int().min(60_000).max(86_400_000).default(3_600_000).describe("How often retention runs"),
    })
    .prefault({})
    .describe("Retention of the raw requests table (see docs/analytics.md for how each engine applies it)"),
  status: z
    .strictObject({
      host: z.string().default("127.0.0.1"),
      port: z.number().int().min(0).max(65_535).default(8084).describe("/healthz, /readyz, /metrics (0: any free port)"),
    })
    .prefault({}),
  logLevel: z.enum(logLevels as [LogLevel, ...LogLevel[]]).default("info"),
  testing: z
    .strictObject({
      holdBeforeCheckpointMs: z.number().int().min(0).max(60_000).default(0).describe("Crash tests only: pause each batch after its rows, before its checkpoint"),
    })
    .prefault({}),
});

export type AnalyticsProjectorConfig = z.infer<typeof AnalyticsProjectorConfig>;
