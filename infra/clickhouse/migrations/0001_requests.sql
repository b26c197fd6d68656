-- The raw requests table: one row per request event, keyed by event id.
-- Runs on ClickHouse 18.16 and on current releases: no LowCardinality, no DateTime64,
-- no TTL (retention drops whole day partitions instead; see docs/analytics.md).
-- ReplacingMergeTree on (minute, event_id) is a second guard: the projector never
-- inserts an event id twice, and if anything else ever did, merges would fold it.
CREATE TABLE IF NOT EXISTS {{requests}} (
  event_id String,
  position UInt64,
  event_type String,
  request_id String,
  gateway_id String,
  started_at_ms UInt64,
  minute UInt32,
  route_id String,
  method String,
  path String,
  status UInt16,
  status_class UInt8,
  consumer_id String,
  plan_id String,
  subscription_id String,
  duration_ms Float64,
  latency_bucket Int32,
  bytes_in UInt64,
  bytes_out UInt64,
  outcome String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(toDateTime(minute))
ORDER BY (minute, event_id);

-- The projector's checkpoint, written after each batch's rows (see docs/analytics.md).
CREATE TABLE IF NOT EXISTS {{checkpoints}} (
  name String,
  position UInt64,
  updated_at_ms UInt64
) ENGINE = ReplacingMergeTree(updated_at_ms)
ORDER BY name;
