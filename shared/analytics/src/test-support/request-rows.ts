import { latencyBucket } from "../query/latency-histogram.js";
import type { RequestRow } from "../request-row.js";

/** Deterministic rows for store tests: several routes, consumers, plans and statuses over `minutes` minutes from `startMs`. */
export function requestRows(count: number, options: { startMs?: number; minutes?: number; firstPosition?: number; seed?: number } = {}): RequestRow[] {
  const startMs = options.startMs ?? Date.UTC(2026, 10, 26, 10, 0, 0);
  const minutes = options.minutes ?? 30;
  let seed = options.seed ?? 11;
  const random = (): number => {
    seed = (seed * 16_807) % 2_147_483_647;
    return seed / 2_147_483_647;
  };
  const statuses = [200, 200, 200, 201, 304, 401, 404, 429, 500, 502, 504];
  return Array.from({ length: count }, (_, index) => {
    const startedAt = startMs + Math.floor(random() * minutes * 60_000);
    const status = statuses[Math.floor(random() * statuses.length)]!;
    const durationMs = Math.round(Math.exp(random() * 7) * 100) / 1_000;
    const consumer = Math.floor(random() * 4);
    return {
      event_id: `evt-${options.firstPosition ?? 1}-${index}`,
      position: String((options.firstPosition ?? 1) + index),
      event_type: status >= 500 ? "RequestFailed" : status === 401 || status === 429 ? "RequestRejected" : "RequestCompleted",
      request_id: `req-${index}`,
      gateway_id: "gw-test",
      started_at_ms: startedAt,
      minute: Math.floor(startedAt / 60_000) * 60,
      route_id: ["orders", "users", "search"][index % 3]!,
      method: "GET",
      path: "/x",
      status,
      status_class: Math.floor(status / 100),
      consumer_id: consumer === 3 ? "" : `consumer-${consumer}`,
      plan_id: consumer === 0 ? "gold" : consumer === 3 ? "" : "free",
      subscription_id: "",
      duration_ms: durationMs,
      latency_bucket: latencyBucket(durationMs),
      bytes_in: 0,
      bytes_out: 100 + index,
      outcome: "none",
      graphql_operation: index % 5 === 0 ? ["GetOrder", "ListUsers", ""][index % 3]! : "",
      graphql_operation_type: index % 5 === 0 ? "query" : "",
    } satisfies RequestRow;
  });
}
