import { hostname } from "node:os";
import { EventStoreConfig } from "@tollgate/eventstore";
import { logLevels, type LogLevel } from "@tollgate/observability";
import { z } from "zod";
import { IdentityConfig } from "../identity/identity-config.js";
import { normalizePath } from "../normalize-path.js";
import { RouteAuthConfig, RouteAuthorizationConfig, RouteHeaderRulesConfig, RouteIpFilterConfig } from "../policies/route-auth-config.js";
import { SecretKeysConfig } from "../policies/hmac/secret-keys-config.js";
import { IpFilterConfig } from "../policies/ip-filter/ip-filter-config.js";
import { QuotaPolicyConfig, RouteQuotaConfig } from "../policies/quota/quota-policy-config.js";
import { RateLimitPolicyConfig, RouteRateLimitConfig } from "../policies/rate-limit/rate-limit-policy-config.js";
import { BalancingConfig, HealthChecksConfig } from "../proxy/balancing-config.js";
import { CircuitBreakerConfig } from "../proxy/circuit-breaker.js";
import { RouteFallbackConfig, RouteRetryConfig, RouteTimeoutsConfig } from "../proxy/route-traffic-config.js";
import { RecorderConfig } from "../recorder/recorder-config.js";
import { RouteGrpcConfig } from "../grpc/grpc-route-config.js";
import { checkRouteCache, GatewayCacheConfig, RouteCacheConfig } from "../cache/cache-config.js";
import { RouteGraphqlConfig } from "../policies/graphql/graphql-policy-config.js";
import { checkRouteWebSocket, RouteWebSocketConfig } from "../websocket/websocket-config.js";

/**
 * The gateway's one configuration schema, parsed once at boot. Every field has a
 * description and a default; the few that cannot (an upstream's targets, a route's
 * id, match and upstream) are required and say so. Objects are strict, so a
 * misspelt field is reported instead of silently ignored.
 */

const identifier = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");

/** A stable default: one gateway per host keeps its request stream across restarts. */
function defaultGatewayId(): string {
  const host = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 60);
  return `gw-${host || "local"}`;
}

const port = z.number().int().min(0).max(65_535);

export const ListenConfig = z.strictObject({
  host: z.string().min(1).default("0.0.0.0").describe("Interface the gateway listens on"),
  port: port.default(8080).describe("Port for client traffic; 0 picks a free port (logged at start)"),
});

export const StatusListenConfig = z.strictObject({
  host: z.string().min(1).default("127.0.0.1").describe("Interface of the status server (health, readiness, metrics); loopback by default"),
  port: port.default(8081).describe("Port of the status server; 0 picks a free port (logged at start)"),
});

const ipOrCidr = z.union([z.cidrv4(), z.cidrv6(), z.ipv4(), z.ipv6()], { error: "expected an IP address or a CIDR range" });

export const TrustProxyConfig = z
  .union([z.boolean(), z.array(ipOrCidr).min(1)], { error: "expected true, false or a list of IP addresses / CIDR ranges" })
  .default(false)
  .describe(
    "Which peers may set X-Forwarded-*: false (default) trusts none and replaces what the client sent; true trusts every peer; a list trusts those addresses",
  );

export const LimitsConfig = z.strictObject({
  maxHeaderBytes: z.number().int().min(1_024).max(65_536).default(16_384).describe("Largest request head (request line and headers) accepted; larger gets 431"),
  headersTimeoutMs: z
    .number()
    .int()
    .min(1)
    .max(600_000)
    .default(20_000)
    .describe("Time a client has to send the complete request head (slow-loris defence); then 408"),
  requestTimeoutMs: z
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(300_000)
    .describe("Time a client has to send the complete request, body included; 0 disables it"),
  keepAliveTimeoutMs: z.number().int().min(0).max(600_000).default(5_000).describe("How long an idle client connection is kept open"),
});

const targetOrigin = z
  .url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" })
  .refine((value) => isOrigin(value), "must be an origin (scheme://host[:port]) without path, query or credentials");

/** A bare origin string is shorthand for `{ url: <origin> }`, so that a bad one is reported at `.url` with its reason. */
export const UpstreamTargetConfig = z
  .preprocess(
    (value) => (typeof value === "string" ? { url: value } : value),
    z.strictObject({
      url: targetOrigin.describe("Origin of the instance"),
      weight: z.number().int().min(1).max(1_000).default(1).describe("Share of requests relative to the other targets (weighted algorithms)"),
    }),
  )
  .describe('An instance: its origin ("http://10.0.0.5:9000"), or { url, weight }');

export const UpstreamConfig = z.strictObject({
  targets: z
    .array(UpstreamTargetConfig)
    .min(1)
    .refine((targets) => new Set(targets.map((target) => target.url)).size === targets.length, "targets must be distinct")
    .describe("Required. The upstream's instances; requests are spread over them by `balancing`"),
  balancing: BalancingConfig.prefault({}).describe("How requests are spread over the targets"),
  healthChecks: HealthChecksConfig.prefault({}).describe("Which targets get requests: active probes, and passive outlier detection"),
  circuitBreaker: CircuitBreakerConfig.prefault({}).describe("A circuit breaker per target: fail fast while a target keeps failing"),
  connections: z.number().int().min(1).max(4_096).default(128).describe("Most connections to each target; the pool never opens more"),
  pipelining: z.number().int().min(1).max(64).default(1).describe("Requests in flight per connection (1 = no HTTP pipelining)"),
  keepAliveTimeoutMs: z
    .number()
    .int()
    .min(1)
    .max(600_000)
    .default(4_000)
    .describe("How long an idle upstream connection is kept when the target does not say (Keep-Alive header)"),
  connectTimeoutMs: z.number().int().min(1).max(120_000).default(5_000).describe("Time to establish a connection; then 504"),
  headersTimeoutMs: z.number().int().min(1).max(600_000).default(30_000).describe("Time from sending the request to receiving the response head; then 504"),
  bodyTimeoutMs: z
    .number()
    .int()
    .min(0)
    .max(600_000)
    .default(30_000)
    .describe("Longest pause between two chunks of the response body; then the response is cut. 0 disables it"),
});

const hostPattern = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(
    z
      .string()
      .regex(
        /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$|^\[[0-9a-f:.]+\]$/,
        'expected a host name ("api.example.com"), a wildcard ("*.example.com") or an IP literal, without port',
      ),
  );

const method = z.string().regex(/^[A-Z][A-Z-]*$/, "expected an upper-case HTTP method such as GET");

const pathPrefix = z
  .string()
  .superRefine((value, ctx) => {
    const problem = pathPrefixProblem(value);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
  })
  .transform((value) => (value.length > 1 && value.endsWith("/") ? value.slice(0, -1) : value));

function pathPrefixProblem(value: string): string | null {
  if (!value.startsWith("/")) return 'must start with "/"';
  if (/[?#]/.test(value)) return "must not contain a query or a fragment";
  if (normalizePath(value) !== value) return "must be a normalized path (no dot segments, no percent-encoded unreserved characters, no backslash)";
  return null;
}

export const RouteMatchConfig = z.strictObject({
  pathPrefix: pathPrefix.describe(
    'Required. Matches this path and everything below it at a segment boundary: "/demo" matches /demo, /demo/ and /demo/x, not /demox. A trailing slash is ignored',
  ),
  hosts: z
    .array(hostPattern)
    .default([])
    .describe('Host names this route serves: exact, or "*.example.com" for any subdomain; empty matches every host'),
  methods: z.array(method).default([]).describe("Methods this route serves; empty matches every method"),
});

export const RouteConfig = z.strictObject({
  id: identifier.describe("Required. Stable route id, used in events, metrics and logs"),
  match: RouteMatchConfig.describe("Required. What requests the route takes; the longest matching prefix wins"),
  upstream: z.string().min(1).describe("Required. Name of the upstream (a key of `upstreams`) that serves the route"),
  stripPrefix: z.boolean().default(false).describe("Remove the matched prefix from the path sent upstream (/demo/x → /x)"),
  timeouts: RouteTimeoutsConfig.prefault({}).describe("Per-route upstream timeouts (the connect timeout is the upstream's)"),
  retries: RouteRetryConfig.prefault({}).describe("Retries of failed upstream attempts, within a budget"),
  fallback: RouteFallbackConfig.optional().describe("A static response served, marked X-Tollgate-Fallback: static, when the upstream fails; absent: a problem+json error"),
  ipFilter: RouteIpFilterConfig,
  headerRules: RouteHeaderRulesConfig,
  auth: RouteAuthConfig,
  authorization: RouteAuthorizationConfig,
  rateLimit: RouteRateLimitConfig.optional().describe(
    "The route's own rate limits, and how the caller's plan limits count on it. Plan limits apply on every route with auth, with or without this",
  ),
  quota: RouteQuotaConfig.optional().describe("How the caller's plan quota applies on this route (routes with auth); it applies by default"),
  cache: RouteCacheConfig.optional().describe("A response cache for the route's GET and HEAD requests (docs/caching.md); absent: no cache"),
  websocket: RouteWebSocketConfig.optional().describe("Proxy WebSocket upgrades on this route, with their timeouts and message size (docs/protocols.md)"),
  graphql: RouteGraphqlConfig.optional().describe("Parse GraphQL queries on this route: record the operation, refuse over-limit queries with 400 (docs/protocols.md)"),
  grpc: RouteGrpcConfig.optional().describe(
    "Transcode REST/JSON to gRPC on this route, by the proto's google.api.http options; the route's timeouts.totalMs is the call's deadline (docs/protocols.md)",
  ),
});

export const GatewayConfig = z
  .strictObject({
    gatewayId: identifier.default(defaultGatewayId).describe('Names this gateway\'s request stream; default "gw-" + host name, stable across restarts'),
    logLevel: z
      .enum(logLevels as [LogLevel, ...LogLevel[]])
      .default("info")
      .describe("Least severe level written to the log"),
    listen: ListenConfig.prefault({}).describe("Where client traffic arrives"),
    status: StatusListenConfig.prefault({}).describe("Where /healthz, /readyz and /metrics are served"),
    trustProxy: TrustProxyConfig,
    accessLog: z
      .enum(["off", "errors", "all"])
      .default("errors")
      .describe("One log line per request: off; errors (status >= 500 and failed requests); all"),
    shutdownGraceMs: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .default(10_000)
      .describe("On SIGTERM, how long requests in flight may take to finish before their connections are closed"),
    limits: LimitsConfig.prefault({}).describe("Limits on what clients send"),
    eventStore: EventStoreConfig.prefault({ kind: "sqlite" }).describe("The event log the request events are appended to"),
    recorder: RecorderConfig.prefault({}).describe("How request events are batched into the event log"),
    upstreams: z
      .record(identifier, UpstreamConfig)
      .default({})
      .describe("Upstream services by name. Routes refer to them; the Host header never selects one"),
    routes: z.array(RouteConfig).default([]).describe("Routes, matched by host, method and longest path prefix"),
    identity: IdentityConfig.prefault({}).describe("How the identity the gateway established is passed to upstreams"),
    ipFilter: IpFilterConfig.prefault({}).describe(
      "Global IP allow and deny lists (CIDR, IPv4 and IPv6) for every route, checked first; the client address is the socket's peer unless trustProxy trusts it",
    ),
    secretKeys: SecretKeysConfig.nullable()
      .default(null)
      .describe("The control plane's AES-256-GCM keys, by id, to open HMAC signing secrets; needed by routes with hmac auth. Never logged"),
    rateLimit: RateLimitPolicyConfig.prefault({}).describe("Where rate limit counters live (memory, or Redis shared by every gateway) and what happens while Redis is down"),
    quota: QuotaPolicyConfig.prefault({}).describe("Where quota counters live (memory, or Redis shared by every gateway and reconciled by the quota projector)"),
    cache: GatewayCacheConfig.prefault({}).describe("Where the routes' cached responses live (memory LRU, or Redis shared by every gateway) and the purge endpoint's token"),
  })
  // Cross-field rules run even when unrelated fields failed, so that one run lists
  // every problem; each waits only for the fields it reads to be valid.
  .superRefine(checkReferences, { when: (payload) => fieldsValid(payload, ["routes", "upstreams"]) })
  .superRefine(checkLimits, { when: (payload) => fieldsValid(payload, ["limits"]) })
  .superRefine(checkRouteAuth, { when: (payload) => fieldsValid(payload, ["routes", "identity"]) })
  .superRefine(checkHmacKeys, { when: (payload) => fieldsValid(payload, ["routes", "secretKeys"]) })
  .superRefine(checkRouteQuota, { when: (payload) => fieldsValid(payload, ["routes"]) })
  .superRefine(checkRouteCache, { when: (payload) => fieldsValid(payload, ["routes"]) })
  .superRefine(checkRouteWebSocket, { when: (payload) => fieldsValid(payload, ["routes"]) });

export type GatewayConfig = z.output<typeof GatewayConfig>;
export type GatewayConfigInput = z.input<typeof GatewayConfig>;
export type UpstreamConfig = z.output<typeof UpstreamConfig>;
export type RouteConfig = z.output<typeof RouteConfig>;
export type RouteMatchConfig = z.output<typeof RouteMatchConfig>;
export type LimitsConfig = z.output<typeof LimitsConfig>;
export type TrustProxyConfig = z.output<typeof TrustProxyConfig>;
export type AccessLogMode = GatewayConfig["accessLog"];

function fieldsValid(payload: z.core.ParsePayload, fields: readonly string[]): boolean {
  return !payload.issues.some((issue) => fields.includes(String(issue.path?.[0])));
}

function isOrigin(value: string): boolean {
  const url = new URL(value);
  return url.username === "" && url.password === "" && (url.pathname === "/" || url.pathname === "") && url.search === "" && url.hash === "";
}

interface References {
  upstreams: Record<string, UpstreamConfig>;
  routes: RouteConfig[];
}

/** Cross-field rules between routes and upstreams. */
function checkReferences(config: References, ctx: z.RefinementCtx<References>): void {
  const firstById = new Map<string, number>();
  config.routes.forEach((route, index) => {
    if (!Object.hasOwn(config.upstreams, route.upstream)) {
      ctx.addIssue({ code: "custom", path: ["routes", index, "upstream"], message: `unknown upstream "${route.upstream}"` });
    }
    const first = firstById.get(route.id);
    if (first === undefined) firstById.set(route.id, index);
    else ctx.addIssue({ code: "custom", path: ["routes", index, "id"], message: `duplicate route id "${route.id}" (also routes[${first}])` });
  });
  config.routes.forEach((route, index) => {
    for (let other = 0; other < index; other++) {
      const earlier = config.routes[other] as RouteConfig;
      if (sameMatch(earlier.match, route.match)) {
        ctx.addIssue({
          code: "custom",
          path: ["routes", index, "match"],
          message: `matches the same requests as routes[${other}] ("${earlier.id}"): same path prefix with overlapping hosts and methods`,
        });
        break;
      }
    }
  });
}

/**
 * Two routes are ambiguous when some request matches both with the same
 * specificity: same prefix, and the same host pattern (or neither has hosts), and a
 * shared method (or neither lists methods). The router would otherwise pick one of
 * them by config order, which nobody reading the config could tell.
 */
function sameMatch(a: RouteMatchConfig, b: RouteMatchConfig): boolean {
  if (a.pathPrefix !== b.pathPrefix) return false;
  const hostsOverlap = a.hosts.length === 0 ? b.hosts.length === 0 : a.hosts.some((host) => b.hosts.includes(host));
  const methodsOverlap = a.methods.length === 0 ? b.methods.length === 0 : a.methods.some((name) => b.methods.includes(name));
  return hostsOverlap && methodsOverlap;
}

function checkLimits(config: { limits: LimitsConfig }, ctx: z.RefinementCtx<{ limits: LimitsConfig }>): void {
  const { headersTimeoutMs, requestTimeoutMs } = config.limits;
  if (requestTimeoutMs !== 0 && headersTimeoutMs > requestTimeoutMs) {
    ctx.addIssue({ code: "custom", path: ["limits", "headersTimeoutMs"], message: `must not exceed limits.requestTimeoutMs (${requestTimeoutMs})` });
  }
}

/**
 * Authorization needs someone to authorize; and a credential header must not be one
 * of the identity headers, which are removed from every request before any policy
 * reads it.
 */
function checkRouteAuth(config: { routes: RouteConfig[]; identity: IdentityConfig }, ctx: z.RefinementCtx<{ routes: RouteConfig[]; identity: IdentityConfig }>): void {
  const identityHeaders = [config.identity.consumerIdHeader, config.identity.planIdHeader];
  config.routes.forEach((route, index) => {
    if (route.authorization !== undefined && route.auth.length === 0) {
      ctx.addIssue({ code: "custom", path: ["routes", index, "authorization"], message: "authorization needs auth: list how callers authenticate" });
    }
    route.auth.forEach((entry, position) => {
      if (entry.type === "api-key" && entry.header !== null && identityHeaders.includes(entry.header)) {
        ctx.addIssue({
          code: "custom",
          path: ["routes", index, "auth", position, "header"],
          message: `"${entry.header}" is an identity header (identity.*Header), removed from every request before authentication`,
        });
      }
    });
  });
}

/** A quota belongs to a subscription, which only an authenticated caller has. */
function checkRouteQuota(config: { routes: RouteConfig[] }, ctx: z.RefinementCtx<{ routes: RouteConfig[] }>): void {
  config.routes.forEach((route, index) => {
    if (route.quota !== undefined && route.auth.length === 0) {
      ctx.addIssue({ code: "custom", path: ["routes", index, "quota"], message: "quota needs auth: quotas are counted per subscription" });
    }
  });
}

/** HMAC secrets reach the gateway sealed: a route that verifies signatures needs the keys to open them. */
function checkHmacKeys(
  config: { routes: RouteConfig[]; secretKeys: SecretKeysConfig | null },
  ctx: z.RefinementCtx<{ routes: RouteConfig[]; secretKeys: SecretKeysConfig | null }>,
): void {
  if (config.secretKeys !== null) return;
  config.routes.forEach((route, index) => {
    route.auth.forEach((entry, position) => {
      if (entry.type !== "hmac") return;
      ctx.addIssue({
        code: "custom",
        path: ["routes", index, "auth", position, "type"],
        message: "hmac needs secretKeys: the keys the control plane seals HMAC signing secrets with",
      });
    });
  });
}
