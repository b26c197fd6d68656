import { z } from "zod";
import type { AnalyticsStore } from "./analytics-store.js";
import { ClickHouseAnalyticsStore } from "./clickhouse/clickhouse-analytics-store.js";
import { SqliteAnalyticsStore } from "./sqlite/sqlite-analytics-store.js";

/** Where analytics live; shared by the projector (which writes) and the control plane (which reads). */
export const AnalyticsStoreConfig = z.strictObject({
  clickhouse: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }).describe("ClickHouse's HTTP interface, e.g. http://127.0.0.1:8123. May carry user:password@; never logged"),
      database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/).default("tollgate").describe("Created by the migrations if missing"),
      username: z.string().max(200).default("default"),
      password: z.string().max(500).default(""),
      requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    })
    .nullable()
    .default(null)
    .describe("ClickHouse; null (the default, unless CLICKHOUSE_URL is set) keeps analytics in the embedded SQLite file"),
  sqlite: z
    .strictObject({
      file: z.string().min(1).default("./data/analytics.db").describe("The embedded analytics file (not the event log's)"),
      synchronous: z.enum(["normal", "full"]).default("normal"),
    })
    .prefault({})
    .describe("The embedded store, used when clickhouse is null"),
});
export type AnalyticsStoreConfig = z.infer<typeof AnalyticsStoreConfig>;

/**
 * CLICKHOUSE_URL (http://user:password@host:8123/database) selects ClickHouse when the
 * config does not name one itself.
 */
export function withClickHouseUrl(config: AnalyticsStoreConfig, env: Record<string, string | undefined>): AnalyticsStoreConfig {
  const raw = env.CLICKHOUSE_URL;
  if (config.clickhouse !== null || raw === undefined || raw === "") return config;
  const url = new URL(raw);
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || "tollgate";
  const clickhouse = AnalyticsStoreConfig.shape.clickhouse.parse({
    url: `${url.protocol}//${url.host}`,
    database,
    username: decodeURIComponent(url.username) || "default",
    password: decodeURIComponent(url.password),
  });
  return { ...config, clickhouse };
}

export function openAnalyticsStore(config: AnalyticsStoreConfig, options: { suffix?: string } = {}): AnalyticsStore {
  if (config.clickhouse !== null) return ClickHouseAnalyticsStore.open(config.clickhouse, options.suffix);
  return SqliteAnalyticsStore.open({ file: config.sqlite.file, synchronous: config.sqlite.synchronous }, options.suffix);
}
