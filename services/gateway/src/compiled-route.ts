import type { RouteConfig } from "./config/gateway-config.js";
import type { RouteMetrics } from "./metrics/gateway-metrics.js";
import type { RoutePolicyChain } from "./policies/route-policy-chain.js";
import type { Upstream } from "./proxy/upstream.js";
import type { Routable } from "./router.js";

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
}

export function compileRoute(route: RouteConfig, upstream: Upstream, metrics: RouteMetrics, policies: RoutePolicyChain | null): CompiledRoute {
  return {
    id: route.id,
    match: route.match,
    template: route.match.pathPrefix,
    stripPrefix: route.stripPrefix,
    upstream,
    metrics,
    policies,
  };
}

/** The path sent upstream when the route strips its prefix: "/demo/x" → "/x", "/demo" → "/". */
export function stripRoutePrefix(route: CompiledRoute, path: string): string {
  if (route.template === "/") return path;
  const rest = path.slice(route.template.length);
  return rest.length === 0 ? "/" : rest;
}
