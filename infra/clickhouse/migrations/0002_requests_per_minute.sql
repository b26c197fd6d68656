-- Rollup per minute by route, consumer, plan, status class and latency bucket.
-- Counts per latency bucket are what p50/p95/p99 are read from (latency-histogram.ts).
-- Filled by a materialized view from the raw table, so it is derived from exactly the
-- raw rows that were inserted: the projector's dedupe by event id covers both.
-- Queries always aggregate with sum(): rows not yet merged are summed at read time.
CREATE TABLE IF NOT EXISTS {{rollup}} (
  minute UInt32,
  route_id String,
  consumer_id String,
  plan_id String,
  status_class UInt8,
  latency_bucket Int32,
  requests UInt64,
  duration_ms_sum Float64,
  bytes_out_sum UInt64
) ENGINE = SummingMergeTree((requests, duration_ms_sum, bytes_out_sum))
PARTITION BY toYYYYMM(toDateTime(minute))
ORDER BY (minute, route_id, consumer_id, plan_id, status_class, latency_bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{rollupView}} TO {{rollup}} AS
SELECT
  minute,
  route_id,
  consumer_id,
  plan_id,
  status_class,
  latency_bucket,
  count() AS requests,
  sum(duration_ms) AS duration_ms_sum,
  sum(bytes_out) AS bytes_out_sum
FROM {{requests}}
GROUP BY minute, route_id, consumer_id, plan_id, status_class, latency_bucket;
