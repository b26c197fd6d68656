import { decodeList, type AnalyticsReader } from "../analytics-store.js";
import { sqlLiteral, UnsafeSqlValueError } from "../sql/sql-literal.js";
import {
  intervals,
  maxPoints,
  maxRangeMs,
  type AnalyticsFilter,
  type GroupBy,
  type RequestListQuery,
  type StatusClass,
  type TimeSeriesQuery,
  type TopQuery,
} from "./analytics-query-schemas.js";
import { addToHistogram, latencyOfBucket, percentileOfHistogram, type LatencyHistogram } from "./latency-histogram.js";

/** A query the store could run but should not: too long a range, too many points. Mapped to 400. */
export class AnalyticsQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AnalyticsQueryError";
  }
}

export interface Measures {
  requests: number;
  /** Responses with a 4xx or 5xx status (rejections and upstream failures included). */
  errors: number;
  byStatusClass: Record<StatusClass, number>;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface SeriesPoint extends Measures {
  t: string;
  group: string | null;
}

export interface TopEntry extends Measures {
  key: string | null;
}

export interface RequestListEntry {
  eventId: string;
  position: string;
  type: string;
  requestId: string;
  startedAt: string;
  routeId: string | null;
  method: string;
  path: string;
  status: number;
  consumerId: string | null;
  planId: string | null;
  durationMs: number;
  outcome: string;
  /** The GraphQL operation's name, on GraphQL-aware routes; null otherwise or when anonymous. */
  graphqlOperation: string | null;
}

export interface Range {
  from: Date;
  to: Date;
}

const dimensionColumns: Record<Exclude<GroupBy, "none">, string> = { route: "route_id", consumer: "consumer_id", plan: "plan_id", status: "status_class" };

/**
 * The analytics queries, one SQL text for both engines (values through `sqlLiteral`,
 * the one dialect difference through `reader.dialect`). Counts come from the per-minute
 * rollup; percentiles from its latency buckets (latency-histogram.ts); the request list
 * from the raw table. Used by the control plane's API and by the projector's tests.
 */
export class AnalyticsQueries {
  readonly #reader: AnalyticsReader;
  readonly #now: () => number;

  constructor(reader: AnalyticsReader, options: { now?: () => number } = {}) {
    this.#reader = reader;
    this.#now = options.now ?? Date.now;
  }

  get engine(): string {
    return this.#reader.engine;
  }

  /** The range a filter means: `to` rounded up and `from` down to the minute. */
  range(filter: AnalyticsFilter): Range {
    const toMs = filter.to === undefined ? this.#now() : Date.parse(filter.to);
    const fromMs = filter.from === undefined ? toMs - 3_600_000 : Date.parse(filter.from);
    if (!(fromMs < toMs)) throw new AnalyticsQueryError("`from` must be before `to`");
    if (toMs - fromMs > maxRangeMs) throw new AnalyticsQueryError(`the range may cover at most ${maxRangeMs / 86_400_000} days`);
    return { from: new Date(Math.floor(fromMs / 60_000) * 60_000), to: new Date(Math.ceil(toMs / 60_000) * 60_000) };
  }

  async timeSeries(query: TimeSeriesQuery): Promise<{ range: Range; interval: string; groupBy: GroupBy; points: SeriesPoint[] }> {
    const range = this.range(query);
    const seconds = intervals[query.interval];
    const points = Math.ceil((range.to.getTime() - range.from.getTime()) / 1_000 / seconds);
    if (points > maxPoints) throw new AnalyticsQueryError(`${points} points: choose a wider interval or a shorter range (at most ${maxPoints})`);
    const time = `minute - minute % ${sqlLiteral(seconds)}`;
    const groups = await this.#histograms(query, range, query.groupBy === "none" ? null : dimensionColumns[query.groupBy], time);
    return {
      range,
      interval: query.interval,
      groupBy: query.groupBy,
      points: groups.map((group) => ({ t: new Date(Number(group.t) * 1_000).toISOString(), group: group.key, ...measuresOf(group) })),
    };
  }

  async totals(filter: AnalyticsFilter): Promise<{ range: Range } & Measures> {
    const range = this.range(filter);
    const [group] = await this.#histograms(filter, range, null, null);
    return { range, ...(group ? measuresOf(group) : measuresOf({ statusCounts: new Map(), histogram: new Map(), percentileBuckets: null })) };
  }

  async top(query: TopQuery): Promise<{ range: Range; by: string; metric: string; entries: TopEntry[] }> {
    const range = this.range(query);
    const groups =
      query.by === "operation"
        ? await this.#histograms(query, range, "graphql_operation", null, this.#graphqlRequests())
        : await this.#histograms(query, range, dimensionColumns[query.by], null);
    const entries = groups.map((group) => ({ key: group.key, ...measuresOf(group) }));
    const value = (entry: TopEntry): number => entry[query.metric] ?? -1;
    entries.sort((a, b) => value(b) - value(a) || String(a.key).localeCompare(String(b.key)));
    return { range, by: query.by, metric: query.metric, entries: entries.slice(0, query.limit) };
  }

  /** The raw requests behind a range (a point of a chart is a one-interval range), newest first. */
  async requests(query: RequestListQuery): Promise<{ range: Range; limit: number; offset: number; requests: RequestListEntry[]; more: boolean }> {
    const range = this.range(query);
    const t = this.#reader.tables;
    const where = [
      ...this.#where(query, range),
      `started_at_ms >= ${sqlLiteral(range.from.getTime())}`,
      `started_at_ms < ${sqlLiteral(range.to.getTime())}`,
    ];
    const rows = await this.#reader.query(
      "SELECT event_id, position, event_type, request_id, started_at_ms, route_id, method, path, status, consumer_id, plan_id, duration_ms, outcome, graphql_operation " +
        `FROM ${t.requests} WHERE ${where.join(" AND ")} ORDER BY started_at_ms DESC, event_id DESC LIMIT ${sqlLiteral(query.limit + 1)} OFFSET ${sqlLiteral(query.offset)}`,
    );
    const requests = rows.slice(0, query.limit).map((row) => ({
      eventId: String(row.event_id),
      position: String(row.position),
      type: String(row.event_type),
      requestId: String(row.request_id),
      startedAt: new Date(Number(row.started_at_ms)).toISOString(),
      routeId: nullIfEmpty(row.route_id),
      method: String(row.method),
      path: String(row.path),
      status: Number(row.status),
      consumerId: nullIfEmpty(row.consumer_id),
      planId: nullIfEmpty(row.plan_id),
      durationMs: Number(row.duration_ms),
      outcome: String(row.outcome),
      graphqlOperation: nullIfEmpty(row.graphql_operation),
    }));
    return { range, limit: query.limit, offset: query.offset, requests, more: rows.length > query.limit };
  }

  #where(filter: AnalyticsFilter, range: Range): string[] {
    const where = [`minute >= ${sqlLiteral(range.from.getTime() / 1_000)}`, `minute < ${sqlLiteral(range.to.getTime() / 1_000)}`];
    if (filter.routeId !== undefined) where.push(`route_id = ${sqlLiteral(filter.routeId)}`);
    if (filter.consumerId !== undefined) where.push(`consumer_id = ${sqlLiteral(filter.consumerId)}`);
    if (filter.planId !== undefined) where.push(`plan_id = ${sqlLiteral(filter.planId)}`);
    if (filter.status !== undefined) where.push(`status_class = ${sqlLiteral(Number(filter.status[0]))}`);
    return where;
  }

  /**
   * One query per answer. Per (time, group): the count of each status class, and the
   * nearest-rank p50/p95/p99 of the latency buckets, either read by the engine
   * (ClickHouse) or from the bucket counts sent over (SQLite); see SqlDialect.
   */
  /**
   * The raw rows of GraphQL requests, shaped as rollup rows (one request each): the rollup
   * has no operation column, and adding one to its key would multiply its rows for every
   * other query. Anonymous operations group under a null key.
   */
  #graphqlRequests(): string {
    return (
      "(SELECT minute, route_id, consumer_id, plan_id, status_class, latency_bucket, graphql_operation, 1 AS requests " +
      `FROM ${this.#reader.tables.requests} WHERE graphql_operation_type != '')`
    );
  }

  async #histograms(filter: AnalyticsFilter, range: Range, groupColumn: string | null, time: string | null, source?: string): Promise<GroupedHistogram[]> {
    const selects: string[] = [];
    const keys: string[] = [];
    if (time !== null) {
      selects.push(`${time} AS t`);
      keys.push("t");
    }
    if (groupColumn !== null) {
      selects.push(`${groupColumn} AS g`);
      keys.push("g");
    }
    const where = this.#where(filter, range).join(" AND ");
    const rollup = source ?? this.#reader.tables.rollup;
    const grouped = new Map<string, GroupedHistogram>();
    const groupOf = (row: Record<string, unknown>): GroupedHistogram => {
      const key = groupColumn === null ? null : String(row.g);
      const id = `${time === null ? "" : String(row.t)}|${String(key)}`;
      let group = grouped.get(id);
      if (group === undefined) {
        group = {
          t: time === null ? null : Number(row.t),
          key: groupColumn === "status_class" ? `${String(key)}xx` : key === null || key === "" ? null : key,
          statusCounts: new Map(),
          histogram: new Map(),
          percentileBuckets: null,
        };
        grouped.set(id, group);
      }
      return group;
    };
    const percentiles = this.#reader.dialect.weightedBucketPercentiles;
    if (percentiles !== null) {
      const classes = [1, 2, 3, 4, 5].map((statusClass) => `sum(if(status_class = ${sqlLiteral(statusClass)}, requests, 0)) AS c${statusClass}`);
      const sql =
        `SELECT ${[...selects, ...classes, `${percentiles("latency_bucket", "requests")} AS q`].join(", ")} FROM ${rollup} WHERE ${where}` +
        (keys.length > 0 ? ` GROUP BY ${keys.join(", ")} ORDER BY ${keys.join(", ")}` : "");
      for (const row of await this.#reader.query(sql)) {
        const group = groupOf(row);
        for (const statusClass of [1, 2, 3, 4, 5]) group.statusCounts.set(statusClass, Number(row[`c${statusClass}`]));
        group.percentileBuckets = decodeList(row.q);
      }
      return [...grouped.values()].filter((group) => [...group.statusCounts.values()].some((count) => count > 0));
    }
    const listAgg = (expression: string): string => this.#reader.dialect.listAgg(expression);
    const outerKeys = [...keys, "status_class"];
    const sql =
      `SELECT ${[...outerKeys, `${listAgg("latency_bucket")} AS buckets`, `${listAgg("n")} AS counts`].join(", ")} FROM (` +
      `SELECT ${[...selects, "status_class", "latency_bucket", "sum(requests) AS n"].join(", ")} FROM ${rollup} ` +
      `WHERE ${where} GROUP BY ${[...keys, "status_class", "latency_bucket"].join(", ")}` +
      `) GROUP BY ${outerKeys.join(", ")} ORDER BY ${outerKeys.join(", ")}`;
    for (const row of await this.#reader.query(sql)) {
      const group = groupOf(row);
      const buckets = decodeList(row.buckets);
      const counts = decodeList(row.counts);
      if (buckets.length !== counts.length) throw new UnsafeSqlValueError("bucket and count lists differ in length");
      addToHistogram(group.histogram, buckets, counts);
      const statusClass = Number(row.status_class);
      group.statusCounts.set(statusClass, (group.statusCounts.get(statusClass) ?? 0) + counts.reduce((sum, count) => sum + count, 0));
    }
    return [...grouped.values()];
  }
}

interface GroupedHistogram {
  t: number | null;
  key: string | null;
  statusCounts: Map<number, number>;
  histogram: LatencyHistogram;
  /** [p50, p95, p99] as bucket numbers, when the engine computed them. */
  percentileBuckets: number[] | null;
}

function measuresOf(group: Pick<GroupedHistogram, "statusCounts" | "histogram" | "percentileBuckets">): Measures {
  const byStatusClass = { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 } as Record<StatusClass, number>;
  let requests = 0;
  for (const [statusClass, count] of group.statusCounts) {
    const name = `${statusClass}xx` as StatusClass;
    if (name in byStatusClass) byStatusClass[name] += count;
    requests += count;
  }
  return {
    requests,
    errors: byStatusClass["4xx"] + byStatusClass["5xx"],
    byStatusClass,
    ...(group.percentileBuckets === null || requests === 0
      ? { p50: percentileOfHistogram(group.histogram, 0.5), p95: percentileOfHistogram(group.histogram, 0.95), p99: percentileOfHistogram(group.histogram, 0.99) }
      : { p50: reported(group.percentileBuckets[0]), p95: reported(group.percentileBuckets[1]), p99: reported(group.percentileBuckets[2]) }),
  };
}

/** A bucket number as the latency it reports, rounded to µs as percentileOfHistogram does. */
function reported(bucket: number | undefined): number | null {
  return bucket === undefined ? null : Math.round(latencyOfBucket(bucket) * 1_000) / 1_000;
}

function nullIfEmpty(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}
