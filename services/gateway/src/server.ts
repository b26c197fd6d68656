import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { GatewayEvent, RequestEvent } from "@tollgate/events";
import type { Logger } from "@tollgate/observability";
import type { Registry } from "prom-client";
import { createAccessLog } from "./access-log.js";
import type { PurgeFilter } from "./cache/cache-store.js";
import { createResponseCache } from "./cache/response-cache.js";
import { randomIds, systemClock, type Clock, type IdGenerator } from "./clock.js";
import { compileRoute, type CompiledRoute } from "./compiled-route.js";
import type { GatewayConfig } from "./config/gateway-config.js";
import { problems } from "./errors/problem-catalog.js";
import { rawProblemResponse } from "./errors/problem-response.js";
import { Exchange, type ExchangeContext } from "./exchange.js";
import type { IdentityIndex } from "./identity/identity-index.js";
import { InFlightRegistry } from "./in-flight.js";
import { GatewayMetrics } from "./metrics/gateway-metrics.js";
import { closeUpstreams, createUpstreams, type TargetHealth, type Upstream } from "./proxy/upstream.js";
import { registerUpstreamMetrics } from "./proxy/upstream-metrics.js";
import { createGatewayLimiters } from "./policies/create-limiters.js";
import { compileRoutePolicyChain } from "./policies/route-policy-chain.js";
import { createPolicyDependencies } from "./policies/policy-dependencies.js";
import { loadProtocolModules, type ProtocolModules } from "./protocol-modules.js";
import type { Readiness } from "./readiness.js";
import type { EventRecorder } from "./recorder/event-recorder.js";
import { compileRouter } from "./router.js";
import { compileTrustProxy } from "./trust-proxy.js";

export interface GatewayServerOptions {
  /** Validated configuration (GatewayConfig). Compiled once here; never re-read. */
  config: GatewayConfig;
  /** Receives exactly one event per request that reaches the router. Never awaited. */
  recorder: EventRecorder;
  logger: Logger;
  /** Registry the gateway's metrics are registered in (served by the status server). */
  registry: Registry;
  /** The gateway opens its "gateway" gate when it listens and closes it when shutdown begins. */
  readiness?: Readiness;
  /**
   * The gateway's view of the control plane, kept live by a ControlPlaneFollower. Needed
   * by routes with `auth`; its version is recorded in every request event. Without it,
   * a config with auth routes is refused and events record no control-plane version.
   */
  identity?: IdentityIndex;
  /**
   * Receives the gateway's own events (a circuit breaker changing state), to be appended
   * to its `gateway-<id>` stream. Called synchronously, rarely; never awaited.
   */
  onGatewayEvent?: (event: GatewayEvent) => void;
  clock?: Clock;
  ids?: IdGenerator;
}

export interface GatewayServer {
  readonly server: Server;
  /** Starts listening on config.listen; resolves with the bound address (port 0 is resolved). */
  listen(): Promise<AddressInfo>;
  /**
   * Graceful stop. Stops accepting connections, closes idle keep-alive connections,
   * answers every request still in flight with `Connection: close`, and resolves
   * once each of them has finished and its event was handed to the recorder. When
   * `graceMs` (default config.shutdownGraceMs) runs out first, the remaining
   * connections are closed and their requests recorded as failed (timeout).
   * Upstream pools are closed last. Idempotent.
   */
  shutdown(graceMs?: number): Promise<void>;
  /** Requests received and not yet finished. */
  readonly inFlight: number;
  /** Each upstream's targets with their health (active checks, ejections), by upstream name. */
  upstreamHealth(): Record<string, TargetHealth[]>;
  readonly draining: boolean;
  /** Removes cached responses (a route's, or under a key prefix); resolves with how many. 0 without a cache. */
  purgeCache(filter: PurgeFilter): Promise<number>;
}

/** How long, after the grace period, closed connections get to report their requests. */
const abandonSettleMs = 1_000;

/**
 * The data plane: node:http in front, one undici pool per upstream target behind.
 * Everything a request needs (routes, pools, header rules, metric children) is
 * compiled here, once; the request path does no validation and no lookups beyond
 * the router's, and awaits nothing but the upstream.
 */
export async function createGatewayServer(options: GatewayServerOptions): Promise<GatewayServer> {
  return buildGatewayServer(options, await loadProtocolModules(options.config));
}

function buildGatewayServer(options: GatewayServerOptions, protocols: ProtocolModules): GatewayServer {
  const { config, recorder, logger, readiness } = options;
  const inFlight = new InFlightRegistry<Exchange>();
  /** Exchanges of each client connection, so that a connection closing finishes all of them. */
  const pendingBySocket = new WeakMap<object, Exchange[]>();
  const drainWaiters = new Set<() => void>();
  const metrics = new GatewayMetrics(options.registry, () => inFlight.size);
  const accessLog = createAccessLog(logger, config.accessLog);
  // Policies first: a config they refuse must not leave upstream pools open behind it.
  const policyDependencies = createPolicyDependencies(config, options.identity, options.clock);
  const limiters = createGatewayLimiters(config, { registry: options.registry, logger, ...(options.clock === undefined ? {} : { clock: options.clock }) });
  let policies;
  try {
    const requestPolicies = { ...policyDependencies.requestPolicies, ...(protocols.graphql === null ? {} : { graphql: protocols.graphql }) };
    policies = config.routes.map((route) => compileRoutePolicyChain(route, policyDependencies.policies, limiters, requestPolicies));
  } catch (error) {
    void limiters?.close();
    void policyDependencies.close();
    throw error;
  }
  const onGatewayEvent = options.onGatewayEvent;
  const upstreams = createUpstreams(
    config.upstreams,
    logger,
    onGatewayEvent === undefined
      ? null
      : (change) =>
          onGatewayEvent({
            type: "CircuitBreakerStateChanged",
            version: 1,
            data: { gatewayId: config.gatewayId, ...change, at: new Date((options.clock ?? systemClock).epochMs()).toISOString() },
          }),
  );
  registerUpstreamMetrics(options.registry, upstreams.values());
  const responseCache = createResponseCache(config, { clock: options.clock ?? systemClock, logger, registry: options.registry });
  const compiledRoutes = config.routes.map((route, index) =>
    compileRoute(
      route,
      upstreams.get(route.upstream) as Upstream,
      metrics.forRoute(route.id),
      policies[index] ?? null,
      responseCache?.forRoute(route, upstreams.get(route.upstream) as Upstream) ?? null,
    ),
  );
  // gRPC routes get their transcoder here, where the channels (one per target) are owned and closed.
  const grpc = protocols.grpc;
  const grpcChannels = grpc === null ? null : new grpc.GrpcChannels();
  const routes = compiledRoutes.map((route, index) => {
    const routeConfig = config.routes[index];
    if (routeConfig?.grpc === undefined) return route;
    if (grpc === null || grpcChannels === null) throw new Error(`route ${route.id} transcodes to gRPC, but the gRPC module was not loaded`);
    return { ...route, grpc: grpc.compileGrpcRoute(routeConfig, route.upstream, grpcChannels) };
  });
  let draining = false;
  // Target sets changed live through the control plane (UpstreamTargetsSet/Reset): the
  // overrides the follower caught up with before this server existed are applied now,
  // later ones as the follower applies them. Off the request path.
  const stopFollowingUpstreams = options.identity?.followUpstreamTargets((name, targets) => {
    const upstream = upstreams.get(name);
    if (upstream === undefined) {
      logger.warn({ upstream: name }, "ignored a live target override for an upstream this gateway's config does not declare");
      return;
    }
    if (draining) return;
    try {
      upstream.replaceTargets(targets ?? upstream.configuredTargets);
    } catch (error) {
      logger.error({ err: error, upstream: name }, "replacing an upstream's targets failed; it keeps its previous targets");
    }
  });
  // Cache purges requested through the control plane (CachePurgeRequested): the index
  // hands over only those it reads after catching up at start (see followCachePurges).
  // A gateway without a cache has nothing to purge.
  const stopFollowingPurges = options.identity?.followCachePurges((purge) => {
    if (responseCache === null) return;
    responseCache.purge({ routeId: purge.routeId, keyPrefix: purge.keyPrefix }).then(
      (removed) => logger.info({ purgeId: purge.purgeId, removed }, "cache purge applied"),
      (error: unknown) => logger.error({ err: error, purgeId: purge.purgeId }, "cache purge failed; the entries live until their TTL"),
    );
  });

  const server = createServer(
    {
      // The gateway checks Host itself (RFC 9112 3.2) so that a missing Host gets a
      // problem+json answer and an event, like every other refusal.
      requireHostHeader: false,
      // Lenient parsing is how request smuggling gets in; never enable it.
      insecureHTTPParser: false,
      maxHeaderSize: config.limits.maxHeaderBytes,
      headersTimeout: config.limits.headersTimeoutMs,
      requestTimeout: config.limits.requestTimeoutMs,
      keepAliveTimeout: config.limits.keepAliveTimeoutMs,
      // How often the head and request timeouts are checked; it bounds their precision.
      connectionsCheckingInterval: Math.min(1_000, config.limits.headersTimeoutMs),
      joinDuplicateHeaders: false,
      noDelay: true,
    },
    onRequest,
  );
  server.on("clientError", onClientError);
  server.on("connection", (socket: Socket) => {
    const pending: Exchange[] = [];
    pendingBySocket.set(socket, pending);
    socket.once("close", () => {
      for (const exchange of pending.slice()) exchange.connectionClosed();
    });
  });

  const context: ExchangeContext = {
    gatewayId: config.gatewayId,
    clock: options.clock ?? systemClock,
    ids: options.ids ?? randomIds,
    router: compileRouter(routes),
    trust: compileTrustProxy(config.trustProxy),
    unmatchedMetrics: metrics.forRoute(null),
    identity: options.identity ?? null,
    identityHeaders: config.identity,
    logger,
    get draining() {
      return draining;
    },
    finish,
  };

  // WebSocket upgrades get a listener only when a route proxies them: without one, Node
  // hands an upgrade request to onRequest as a plain request, as it always did.
  const createWebSocketProxy = protocols.websocket;
  const proxiesWebSockets = routes.some((route) => route.websocket !== null);
  if (proxiesWebSockets && createWebSocketProxy === null) throw new Error("a route proxies WebSockets, but the WebSocket module was not loaded");
  const websockets = proxiesWebSockets && createWebSocketProxy !== null ? createWebSocketProxy({ context, onRequest, record: recordSession }) : null;
  if (websockets !== null) server.on("upgrade", websockets.handleUpgrade);

  /** A WebSocket session's one event (its RequestCompleted at close, or its refusal or failure). */
  function recordSession(event: RequestEvent, route: CompiledRoute): void {
    try {
      recorder.record(event);
    } catch (error) {
      logger.error({ err: error, requestId: event.data.requestId }, "recording the request event failed");
    }
    route.metrics.observe(event.data.status, event.data.durationMs / 1_000);
    accessLog.write(event);
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const exchange = new Exchange(context, req, res);
    inFlight.add(exchange);
    pendingBySocket.get(req.socket)?.push(exchange);
    try {
      exchange.start();
    } catch (error) {
      exchange.fail(error);
    }
  }

  function finish(exchange: Exchange, event: RequestEvent): void {
    try {
      recorder.record(event);
    } catch (error) {
      // The recorder's contract is never to throw; if it does, the request must
      // still be accounted for, or shutdown would wait for it forever.
      logger.error({ err: error, requestId: event.data.requestId }, "recording the request event failed");
    }
    observe(exchange, event);
    inFlight.delete(exchange);
    const pending = pendingBySocket.get(exchange.req.socket);
    const index = pending?.indexOf(exchange) ?? -1;
    if (index !== -1) pending?.splice(index, 1);
    if (draining) {
      // The response is over; its keep-alive connection is idle now and can go.
      server.closeIdleConnections();
      if (inFlight.size === 0) for (const resolve of drainWaiters) resolve();
    }
  }

  function observe(exchange: Exchange, event: RequestEvent): void {
    const routeMetrics = exchange.route?.metrics ?? context.unmatchedMetrics;
    routeMetrics.observe(event.data.status, event.data.durationMs / 1_000);
    if (exchange.upstreamLatencyMs >= 0) routeMetrics.observeUpstream(exchange.upstreamLatencyMs / 1_000);
    accessLog.write(event);
  }

  /**
   * The request could not be parsed, so there is no request, route or event: Node
   * (llhttp) refused it. Answer with a problem if the connection is between
   * responses, then close it, since nothing after the bad bytes can be trusted.
   */
  function onClientError(error: Error & { code?: string }, socket: Duplex): void {
    if (error.code === "ECONNRESET" || !socket.writable || hasResponseInProgress(socket)) {
      socket.destroy();
      return;
    }
    const requestId = context.ids.requestId();
    const [problem, detail] =
      error.code === "HPE_HEADER_OVERFLOW"
        ? [problems.headersTooLarge, `the request head exceeds ${config.limits.maxHeaderBytes} bytes`]
        : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [problems.requestTimeout, "the request was not received in time"]
          : [problems.badRequest, `the request could not be parsed (${error.code ?? "unknown"})`];
    logger.debug({ requestId, code: error.code }, "unparseable request refused");
    socket.end(rawProblemResponse(problem, requestId, detail), () => socket.destroy());
  }

  function waitForDrain(timeoutMs: number): Promise<boolean> {
    if (inFlight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        drainWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        drainWaiters.delete(done);
        resolve(true);
      };
      drainWaiters.add(done);
    });
  }

  let shutdownPromise: Promise<void> | undefined;

  readiness?.set("gateway", false, "starting");

  return {
    server,
    get inFlight() {
      return inFlight.size;
    },
    get draining() {
      return draining;
    },
    purgeCache: (filter) => responseCache?.purge(filter) ?? Promise.resolve(0),
    upstreamHealth() {
      const now = Date.now();
      return Object.fromEntries([...upstreams].map(([name, upstream]) => [name, upstream.health(now)]));
    },
    listen: () =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.listen.port, config.listen.host, () => {
          server.off("error", reject);
          readiness?.set("gateway", true);
          resolve(server.address() as AddressInfo);
        });
      }),
    shutdown(graceMs = config.shutdownGraceMs) {
      shutdownPromise ??= (async () => {
        draining = true;
        stopFollowingUpstreams?.();
        stopFollowingPurges?.();
        const graceEndsAt = Date.now() + graceMs;
        readiness?.set("gateway", false, "shutting down");
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const drained = await waitForDrain(graceMs);
        // WebSocket sessions may end by themselves until the grace period is over; then
        // each one left is closed with 1001 (Going Away), before any socket is cut.
        await websockets?.shutdown(drained ? Math.max(0, graceEndsAt - Date.now()) : 0);
        if (!drained) {
          logger.warn({ inFlight: inFlight.size, graceMs }, "shutdown grace period expired; closing connections with requests in flight");
          for (const exchange of inFlight.snapshot()) exchange.abandon();
          server.closeAllConnections();
          await waitForDrain(abandonSettleMs);
        }
        server.closeAllConnections();
        await closed;
        await closeUpstreams(upstreams.values(), !drained);
        grpcChannels?.close();
        await policyDependencies.close();
        await limiters?.close();
        await responseCache?.close();
      })();
      return shutdownPromise;
    },
  };
}

/**
 * Node keeps the response being written on the socket. While there is one, a raw
 * error response would interleave with it, so the connection is closed instead.
 */
function hasResponseInProgress(socket: Duplex): boolean {
  return (socket as Duplex & { _httpMessage?: unknown })._httpMessage != null;
}
