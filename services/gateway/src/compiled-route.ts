import type { RouteCache } from "./cache/route-cache.js";
import type { RouteConfig } from "./config/gateway-config.js";
import type { RouteMetrics } from "./metrics/gateway-metrics.js";
import type { RoutePolicyChain } from "./policies/route-policy-chain.js";
import type { FailureKind } from "@tollgate/events";
import { RetryBudget } from "./proxy/retry-budget.js";
import type { Upstream } from "./proxy/upstream.js";
import type { Routable } from "./router.js";
import type { GrpcTranscoder } from "./grpc/grpc-transcoder.js";
import type { RouteWebSocketConfig } from "./websocket/websocket-config.js";

/**
 * A route as the hot path uses it: its upstream's pools and its metric children
 * resolved at config load, so a request does no lookup beyond the router's.
 */
export interface CompiledRoute extends Routable {
  readonly id: string;
  /** The path prefix, recorded as the event's routeTemplate. */
  readonly template: string;
  readonly stripPrefix: boolean;
  readonly upstream: Upstream;
  readonly metrics: RouteMetrics;
  /** The route's policies (authentication, authorization, …); null when it has none. */
  readonly policies: RoutePolicyChain | null;
  /** Time to the response head for this route's requests; undefined: the upstream pool's. */
  readonly responseHeadersTimeoutMs: number | undefined;
  /** Longest a request may take upstream, retries included; 0: no limit. */
  readonly totalTimeoutMs: number;
  /** Null when the route does not retry. */
  readonly retry: RouteRetry | null;
  /** The static response served when the upstream fails; null without one. */
  readonly fallback: RouteFallback | null;
  /** REST/JSON → gRPC transcoding (route `grpc`): takes the request instead of the undici pool; null on HTTP routes. */
  readonly grpc: GrpcTranscoder | null;
  /** The route's response cache; null when it has none, which is all the request path checks. */
  readonly cache: RouteCache | null;
  /** How the route proxies WebSocket upgrades; null when it does not (they go upstream as plain HTTP). */
  readonly websocket: RouteWebSocketConfig | null;
}

export interface RouteFallback {
  readonly on: ReadonlySet<FailureKind>;
  readonly status: number;
  /** Flat name/value pairs, Content-Length and the fallback marker included. */
  readonly headers: readonly string[];
  readonly body: Buffer;
}

export interface RouteRetry {
  readonly attempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly budget: RetryBudget;
}

export function compileRoute(
  route: RouteConfig,
  upstream: Upstream,
  metrics: RouteMetrics,
  policies: RoutePolicyChain | null,
  cache: RouteCache | null = null,
): CompiledRoute {
  return {
    id: route.id,
    match: route.match,
    template: route.match.pathPrefix,
    stripPrefix: route.stripPrefix,
    upstream,
    metrics,
    policies,
    responseHeadersTimeoutMs: route.timeouts.responseHeadersMs,
    totalTimeoutMs: route.timeouts.totalMs ?? 0,
    fallback: route.fallback === undefined ? null : compileFallback(route.fallback),
    // Set by the server, which owns the gRPC channels (grpc/grpc-transcoder.ts compileGrpcRoute).
    grpc: null,
    cache,
    websocket: route.websocket?.enabled === true ? route.websocket : null,
    retry:
      route.retries.attempts === 0
        ? null
        : {
            attempts: route.retries.attempts,
            backoffBaseMs: route.retries.backoffBaseMs,
            backoffMaxMs: route.retries.backoffMaxMs,
            budget: new RetryBudget(route.retries.budgetRatio, route.retries.budgetMinPerSecond),
          },
  };
}

function compileFallback(config: NonNullable<RouteConfig["fallback"]>): RouteFallback {
  const body = Buffer.from(config.body, "utf8");
  const headers: string[] = [];
  for (const [name, value] of Object.entries(config.headers)) {
    const lower = name.toLowerCase();
    if (lower !== "content-length" && lower !== "transfer-encoding" && lower !== "connection") headers.push(name, value);
  }
  headers.push("content-length", String(body.length), "x-tollgate-fallback", "static");
  return { on: new Set(config.on), status: config.status, headers, body };
}

/** The path sent upstream when the route strips its prefix: "/demo/x" → "/x", "/demo" → "/". */
export function stripRoutePrefix(route: CompiledRoute, path: string): string {
  if (route.template === "/") return path;
  const rest = path.slice(route.template.length);
  return rest.length === 0 ? "/" : rest;
}
