import { describe, expect, it } from "vitest";
import { AnalyticsStoreConfig, withClickHouseUrl } from "./analytics-store-config.js";

describe("analytics store config", () => {
  it("defaults to the embedded SQLite file", () => {
    expect(AnalyticsStoreConfig.parse({})).toEqual({ clickhouse: null, sqlite: { file: "./data/analytics.db", synchronous: "normal" } });
  });

  it("takes ClickHouse, its credentials and database from CLICKHOUSE_URL", () => {
    const config = withClickHouseUrl(AnalyticsStoreConfig.parse({}), { CLICKHOUSE_URL: "http://tollgate:s%40cret@clickhouse:8123/analytics" });
    expect(config.clickhouse).toEqual({ url: "http://clickhouse:8123", database: "analytics", username: "tollgate", password: "s@cret", requestTimeoutMs: 30_000 });
    expect(withClickHouseUrl(AnalyticsStoreConfig.parse({}), { CLICKHOUSE_URL: "http://127.0.0.1:8123" }).clickhouse).toMatchObject({ database: "tollgate", username: "default" });
  });

  it("keeps a ClickHouse the config names, and refuses a database name that is not an identifier", () => {
    const named = AnalyticsStoreConfig.parse({ clickhouse: { url: "http://a:8123", database: "x" } });
    expect(withClickHouseUrl(named, { CLICKHOUSE_URL: "http://b:8123/y" }).clickhouse?.url).toBe("http://a:8123");
    expect(() => withClickHouseUrl(AnalyticsStoreConfig.parse({}), { CLICKHOUSE_URL: "http://b:8123/bad;name" })).toThrow();
  });
});
