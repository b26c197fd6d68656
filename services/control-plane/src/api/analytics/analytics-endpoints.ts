import {
  AnalyticsFilter,
  type AnalyticsQueries,
  AnalyticsQueryError,
  analyticsIdPattern,
  RequestListQuery,
  TimeSeriesQuery,
  TopQuery,
  UnsafeSqlValueError,
} from "@tollgate/analytics";
import { z } from "zod";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import { problems } from "../../errors/problem-catalog.js";
import { defineEndpoint, type AnyEndpoint, type EndpointResult } from "../endpoint.js";
import { readResponses } from "../standard-responses.js";

const Answer = z.record(z.string(), z.unknown()).describe("See docs/analytics.md for the shape of each answer");
const responses = { 200: { description: "The answer", schema: Answer }, ...readResponses };
const consumerParams = z.strictObject({ consumerId: z.string().regex(analyticsIdPattern) });

/**
 * Runs one query. A query the schemas let through but the store must not run (too many
 * points, a value `sqlLiteral` refuses) is 400; a store that does not answer is 503.
 * Nothing the store says is echoed to the client.
 */
async function answer(run: () => Promise<unknown>): Promise<EndpointResult> {
  try {
    return { status: 200, body: await run() };
  } catch (error) {
    if (error instanceof AnalyticsQueryError || error instanceof UnsafeSqlValueError) {
      throw new ControlPlaneError(problems.invalidRequest, error.message);
    }
    throw new ControlPlaneError(problems.analyticsUnavailable, "the analytics store did not answer; try again", {}, { cause: error });
  }
}

/**
 * The analytics query API. Product teams read everything under /admin/analytics with an
 * admin token (read access is enough). A consumer reads /consumer/analytics with its own
 * API key, and sees only its own requests: the consumer filter is forced to the caller,
 * and a request that names any consumer is refused by the schema (400).
 */
export function analyticsEndpoints(queries: AnalyticsQueries): AnyEndpoint[] {
  const tag = "analytics";
  return [
    defineEndpoint({
      method: "get",
      path: "/admin/analytics/timeseries",
      operationId: "analyticsTimeSeries",
      summary: "Requests, errors by status class and latency p50/p95/p99 over time, optionally one series per route, consumer, plan or status",
      tag,
      access: "admin:read",
      query: TimeSeriesQuery,
      responses,
      handle: (request) => answer(() => queries.timeSeries(request.query)),
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/analytics/totals",
      operationId: "analyticsTotals",
      summary: "Totals over a range: requests, errors by status class, latency percentiles",
      tag,
      access: "admin:read",
      query: AnalyticsFilter,
      responses,
      handle: (request) => answer(() => queries.totals(request.query)),
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/analytics/top",
      operationId: "analyticsTop",
      summary: "Top consumers, routes or plans by requests, errors or a latency percentile",
      tag,
      access: "admin:read",
      query: TopQuery,
      responses,
      handle: (request) => answer(() => queries.top(request.query)),
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/analytics/requests",
      operationId: "analyticsRequests",
      summary: "The raw requests behind a range or a chart point, newest first, with paging",
      tag,
      access: "admin:read",
      query: RequestListQuery,
      responses,
      handle: (request) => answer(() => queries.requests(request.query)),
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/analytics/consumers/:consumerId",
      operationId: "analyticsConsumer",
      summary: "One consumer's usage: totals, its routes and its plans",
      tag,
      access: "admin:read",
      params: consumerParams,
      query: AnalyticsFilter.omit({ consumerId: true }),
      responses,
      handle: (request) => answer(() => consumerUsage(queries, { ...request.query, consumerId: request.params.consumerId })),
    }),
    defineEndpoint({
      method: "get",
      path: "/consumer/analytics/timeseries",
      operationId: "myAnalyticsTimeSeries",
      summary: "The calling consumer's requests, errors and latency over time",
      tag,
      access: "consumer",
      query: TimeSeriesQuery.omit({ consumerId: true }),
      responses,
      handle: (request) => answer(() => queries.timeSeries({ ...request.query, consumerId: request.consumerId! })),
    }),
    defineEndpoint({
      method: "get",
      path: "/consumer/analytics/usage",
      operationId: "myAnalyticsUsage",
      summary: "The calling consumer's usage: totals, routes and plans",
      tag,
      access: "consumer",
      query: AnalyticsFilter.omit({ consumerId: true }),
      responses,
      handle: (request) => answer(() => consumerUsage(queries, { ...request.query, consumerId: request.consumerId! })),
    }),
    defineEndpoint({
      method: "get",
      path: "/consumer/analytics/requests",
      operationId: "myAnalyticsRequests",
      summary: "The calling consumer's requests, newest first, with paging",
      tag,
      access: "consumer",
      query: RequestListQuery.omit({ consumerId: true }),
      responses,
      handle: (request) => answer(() => queries.requests({ ...request.query, consumerId: request.consumerId! })),
    }),
  ];
}

async function consumerUsage(queries: AnalyticsQueries, filter: AnalyticsFilter & { consumerId: string }): Promise<unknown> {
  const [totals, routes, plans] = await Promise.all([
    queries.totals(filter),
    queries.top({ ...filter, by: "route", metric: "requests", limit: 100 }),
    queries.top({ ...filter, by: "plan", metric: "requests", limit: 100 }),
  ]);
  return { consumerId: filter.consumerId, ...totals, routes: routes.entries, plans: plans.entries };
}
