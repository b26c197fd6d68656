import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { CacheStatus, FailureKind, GraphqlOperation, GrpcCall, RejectionStage, RequestEvent } from "@tollgate/events";
import type { Logger } from "@tollgate/observability";
import { errors, type Dispatcher } from "undici";
import type { CacheEntry } from "./cache/cache-entry.js";
import type { CacheFill } from "./cache/cache-fill.js";
import type { CacheableExchange, CachedServing } from "./cache/cacheable-exchange.js";
import type { Clock, IdGenerator } from "./clock.js";
import { stripRoutePrefix, type CompiledRoute, type RouteRetry } from "./compiled-route.js";
import { problems, type ProblemType } from "./errors/problem-catalog.js";
import { sendProblem } from "./errors/problem-response.js";
import { appendForwardingHeaders, buildResponseHeaders, isSaneRequestId, scanRequestHeaders, type RequestHead } from "./headers.js";
import type { IdentityConfig } from "./identity/identity-config.js";
import { appendIdentityHeaders, stripIdentityHeaders } from "./identity/identity-headers.js";
import type { InFlightMember } from "./in-flight.js";
import type { RouteMetrics } from "./metrics/gateway-metrics.js";
import { normalizePath, PathRejection } from "./normalize-path.js";
import { isoTimestamp } from "./iso-timestamp.js";
import type { AuthenticatedIdentity } from "./policies/authenticator.js";
import type { PolicyExchange, PolicyRejection } from "./policies/policy-step.js";
import type { TargetOutcome, UpstreamTarget } from "./proxy/upstream.js";
import type { BreakerSettle } from "./proxy/circuit-breaker.js";
import { backoffDelayMs, idempotentMethods } from "./proxy/retry-budget.js";
import { toUpstreamError, UpstreamError, UpstreamResponseError, UpstreamTimeoutError } from "./proxy/upstream-error.js";
import type { Router } from "./router.js";
import { normalizeAddress, type TrustProxy } from "./trust-proxy.js";

/** What every exchange shares: built once per server from the validated config. */
export interface ExchangeContext {
  readonly gatewayId: string;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly router: Router<CompiledRoute>;
  readonly trust: TrustProxy;
  readonly unmatchedMetrics: RouteMetrics;
  /** The gateway's view of the control plane; its version is recorded in every event. Null without one. */
  readonly identity: { readonly version: string } | null;
  readonly identityHeaders: IdentityConfig;
  readonly logger: Logger;
  /** True once shutdown began: every response from then on closes its connection. */
  readonly draining: boolean;
  /** Called exactly once per exchange, with its event, when its response is over. */
  finish(exchange: Exchange, event: RequestEvent): void;
}

/**
 * Status recorded for a request whose client left before any response was sent.
 * 499 is nginx's "client closed request"; no response carries it.
 */
export const clientClosedStatus = 499;

/** Event `detail` and `reason` fields are capped by the event schema. */
const maxDetail = 500;
/** Response-head timeouts shorter than this get a timer of their own: undici's runs on a 1-second resolution. */
const preciseHeadTimeoutBelowMs = 1_000;

/**
 * Connections on which a request was refused for its framing or Host. Node parses
 * pipelined requests ahead and hands them over while the refusal is still being
 * written; whatever follows an untrustworthy request on the same connection is
 * refused too, never forwarded, and the connection closes after the refusal.
 */
const untrustedConnections = new WeakSet<object>();

const SLASH = 0x2f;
const absoluteForm = /^[Hh][Tt][Tt][Pp][Ss]?:\/\/([^/?#]*)([^#]*)$/;
const hostValue = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?$/;

/**
 * One request through the gateway, from its head arriving to its response being
 * over, and the undici handler of its upstream request. Everything the request's
 * event needs is gathered on this one object; the event is built once, when the
 * response closes, which is the only moment every field (status, bytes, duration)
 * is final. That moment comes exactly once per request, whether it completed, was
 * rejected, failed or was abandoned by the client, so each request yields exactly
 * one event.
 */
export class Exchange implements Dispatcher.DispatchHandler, PolicyExchange, CacheableExchange, InFlightMember {
  /** Its slot in the server's InFlightRegistry; -1 when it is not in flight. */
  inFlightSlot = -1;
  requestId = "";
  clientIp = "";
  /** Normalized path once known; until then the raw path, without query. */
  path = "";
  /** The query string sent upstream, with its "?"; policies may remove a credential from it. */
  query = "";
  route: CompiledRoute | null = null;
  // What the route's policies established; recorded in the event whatever the outcome.
  identity: AuthenticatedIdentity | null = null;
  consumerId: string | null = null;
  credentialId: string | null = null;
  planId: string | null = null;
  subscriptionId: string | null = null;
  controlPlaneVersion: string | null = null;
  /** The body a policy read to check it (HMAC), forwarded instead of streaming `req`. */
  bodyOverride: Buffer | null = null;
  /** The GraphQL operation the route's graphql policy found (GraphqlExchange); recorded in the event. */
  graphql: GraphqlOperation | null = null;
  /** The gRPC method and status of a transcoded request (route.grpc, GrpcExchange); recorded in the event. */
  grpc: GrpcCall | null = null;
  target: UpstreamTarget | null = null;
  bytesIn = 0;
  bytesOut = 0;
  /** Monotonic ms from sending upstream to the response head; -1 when there was none. */
  upstreamLatencyMs = -1;
  private readonly startedEpochMs: number;
  private readonly startedMs: number;
  private upstreamStartMs = -1;
  private rejection: { stage: RejectionStage; reason: string; limit: string | null } | null = null;
  /** Headers the policies add to whatever the response is (RateLimit-*, Quota-*), flat name/value pairs. */
  private extraResponseHeaders: string[] | null = null;
  private failure: { kind: FailureKind; detail: string } | null = null;
  private abortUpstream: ((reason?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private upstreamSettled = false;
  /** Attempts made upstream (retries included); 0 until the first is dispatched. */
  attempts = 0;
  /** Targets of the earlier attempts, when the request was retried. */
  private tried: Set<UpstreamTarget> | null = null;
  private upstreamPath = "";
  private hasBody = false;
  private totalTimer: NodeJS.Timeout | null = null;
  /** The route's response-head timeout for the attempt in flight, when undici's own would be too coarse (see onConnect). */
  private headTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private totalTimedOut = false;
  /** How the upstream answered, for its health: set by the response head, reported once the request settles. */
  private targetOutcome: TargetOutcome = "neutral";
  private targetReported = false;
  /** Settles the attempt in its target's circuit breaker; null without a breaker, or once settled. */
  private breakerSettle: BreakerSettle | null = null;
  private fallbackServed = false;
  // The route's response cache (CacheableExchange); untouched on routes without one.
  cacheStatus: CacheStatus = "none";
  xCache: string | null = null;
  cacheFill: CacheFill | null = null;
  staleEntry: CacheEntry | null = null;
  private done = false;
  private head: RequestHead | null = null;
  private peer = "";
  private trustedPeer = false;
  private readonly clientSocket: Socket;

  constructor(
    private readonly ctx: ExchangeContext,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    this.clientSocket = req.socket;
    this.startedEpochMs = ctx.clock.epochMs();
    this.startedMs = ctx.clock.monotonicMs();
    res.on("close", this.onClose);
  }

  get method(): string {
    return this.req.method ?? "";
  }

  /** The headers to be forwarded (PolicyRequest); only read once the request was routed. */
  get headers(): string[] {
    return (this.head as RequestHead).headers;
  }

  get receivedAtMs(): number {
    return this.startedEpochMs;
  }

  /** True once the gateway began shutting down: responses it writes itself then close their connection. */
  get draining(): boolean {
    return this.ctx.draining;
  }

  /** The Host the request named (or its absolute-form authority); "" before routing or without one. */
  get host(): string {
    return this.head?.host ?? "";
  }

  get finished(): boolean {
    return this.done;
  }

  addResponseHeaders(headers: Readonly<Record<string, string>>): void {
    const extra = (this.extraResponseHeaders ??= []);
    for (const name in headers) extra.push(name, headers[name] as string);
  }

  /** Runs the request up to handing it to the upstream. Never awaits. */
  start(): void {
    const { req, ctx } = this;
    const peer = normalizeAddress(req.socket.remoteAddress);
    const trustedPeer = ctx.trust.isTrusted(peer);
    const head = scanRequestHeaders(req.rawHeaders, trustedPeer);
    this.controlPlaneVersion = ctx.identity?.version ?? null;
    this.requestId = head.requestId !== undefined && isSaneRequestId(head.requestId) ? head.requestId : ctx.ids.requestId();
    this.clientIp = trustedPeer ? ctx.trust.clientIp(peer, head.forwardedFor) : peer;

    if (untrustedConnections.has(req.socket)) {
      this.path = rawPathOf(req.url);
      this.reject("headers", problems.invalidFraming, "an earlier request on this connection was refused for its framing or Host", true);
      return;
    }

    // Framing first: until it is settled, nothing after this request on the
    // connection can be trusted, whatever else is wrong with it.
    const framing = framingProblem(req, head);
    if (framing !== null) {
      this.path = rawPathOf(req.url);
      this.reject("headers", problems.invalidFraming, framing, true);
      return;
    }

    // The request target picks a route and nothing else. In absolute form
    // (RFC 9112 3.2.2, which servers MUST accept) its authority replaces the Host
    // header for route matching, as that section requires; the upstream is still
    // only ever one from the config.
    let target = req.url ?? "";
    if (target.charCodeAt(0) !== SLASH) {
      const absolute = absoluteForm.exec(target);
      if (absolute === null || (absolute[1] as string).includes("@") || (absolute[1] as string).length === 0) {
        this.path = rawPathOf(target);
        this.reject("validation", problems.invalidRequestTarget, "only origin-form (/path) and http(s) absolute-form request targets are accepted", false);
        return;
      }
      head.host = absolute[1];
      const rest = absolute[2] as string;
      target = rest.length === 0 ? "/" : rest.charCodeAt(0) === SLASH ? rest : `/${rest}`;
    }
    const queryAt = target.indexOf("?");
    const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
    this.path = rawPath;

    const hostProblem = hostHeaderProblem(req, head);
    if (hostProblem !== null) {
      this.reject("headers", problems.invalidHost, hostProblem, true);
      return;
    }

    const path = normalizePath(rawPath);
    if (path instanceof PathRejection) {
      this.reject("validation", problems.invalidPath, path.reason, false);
      return;
    }
    this.path = path;

    const method = req.method ?? "";
    const route = ctx.router.match(method, routingHost(head.host), path);
    if (route === undefined) {
      this.reject("route", problems.routeNotFound, "no route matches the request's method, host and path", false);
      return;
    }
    this.route = route;
    this.query = queryAt === -1 ? "" : target.slice(queryAt);
    this.head = head;
    this.peer = peer;
    this.trustedPeer = trustedPeer;
    stripIdentityHeaders(head.headers, ctx.identityHeaders);

    const policies = route.policies;
    if (policies !== null) {
      if (policies.async) {
        policies.run(this).then(this.afterPolicies, this.policiesFailed);
        return;
      }
      const rejection = policies.run(this);
      if (rejection !== null) {
        this.refuse(rejection);
        return;
      }
    }
    this.forward();
  }

  /** The policies admitted the request: the route's cache may answer it, else the upstream does. */
  private forward(): void {
    const grpc = (this.route as CompiledRoute).grpc;
    if (grpc !== null) {
      // A gRPC route transcodes instead of proxying (grpc/grpc-transcoder.ts); it has no response cache.
      this.prepareUpstreamRequest();
      grpc.handle(this);
      return;
    }
    const cache = (this.route as CompiledRoute).cache;
    if (cache !== null && cache.lookup(this)) return;
    this.forwardUpstream();
  }

  /** Hands the request to the upstream: the last step of the request path that the gateway drives. */
  private forwardUpstream(): void {
    const route = this.route as CompiledRoute;
    this.prepareUpstreamRequest();
    route.retry?.budget.request(this.startedEpochMs);
    if (route.totalTimeoutMs > 0) this.totalTimer = setTimeout(this.onTotalTimeout, route.totalTimeoutMs);
    this.dispatchAttempt(this.req);
  }

  /** The path and headers sent upstream: identity and forwarding headers added. Runs at most once per request. */
  private prepareUpstreamRequest(): void {
    const { ctx } = this;
    const route = this.route as CompiledRoute;
    const head = this.head as RequestHead;
    if (this.identity !== null) appendIdentityHeaders(head.headers, ctx.identityHeaders, this.identity.consumerId, this.planId);
    const upstreamPath = (route.stripPrefix ? stripRoutePrefix(route, this.path) : this.path) + this.query;
    appendForwardingHeaders(head, { peer: this.peer, trustedPeer: this.trustedPeer, requestId: this.requestId, proto: "http" });
    this.upstreamPath = upstreamPath;
    // Framing was checked above: a body exists exactly when it is chunked or has a
    // non-zero Content-Length (RFC 9112 6.3). undici re-frames it for the upstream.
    this.hasBody = head.transferEncodingCount > 0 || (head.contentLength !== undefined && head.contentLength !== "0");
  }

  /** For the cache's background refresh, after this request was answered from the cache (it never went upstream itself). */
  upstreamRequest(): { path: string; headers: string[] } {
    if (this.upstreamPath === "") this.prepareUpstreamRequest();
    return { path: this.upstreamPath, headers: (this.head as RequestHead).headers };
  }

  /** The cache could not answer (a lookup in a shared store missed, a collapsed request was released): on to the upstream. */
  afterCacheMiss(): void {
    if (this.done) return;
    try {
      this.forwardUpstream();
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Answers from a cached entry: its status, headers and body, with Age, X-Cache and the
   * request's own id (and the policies' headers). A hit or a stale-while-revalidate
   * answer made no upstream attempt (attempts 0); a stale-if-error answer ends a failed
   * request, recorded as a fallback.
   */
  serveCached(entry: CacheEntry, serving: CachedServing, ageSeconds: number): void {
    if (this.done) return;
    const { res } = this;
    try {
      if (serving === "stale-if-error") {
        this.fallbackServed = true;
        this.xCache = "STALE";
      } else {
        this.cacheStatus = serving;
        this.xCache = serving === "hit" ? "HIT" : "STALE";
        this.upstreamSettled = true;
      }
      const headers = entry.headers.concat("age", String(ageSeconds), "x-cache", this.xCache, "x-request-id", this.requestId);
      if (serving === "stale-if-error") headers.push("x-tollgate-fallback", "stale");
      const extra = this.extraResponseHeaders;
      if (extra !== null) for (let index = 0; index < extra.length; index++) headers.push(extra[index] as string);
      if (this.ctx.draining) headers.push("connection", "close");
      res.writeHead(entry.status, headers);
      if (this.method === "HEAD") {
        res.end();
      } else {
        this.bytesOut = entry.body.length;
        res.end(entry.body);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  /** One attempt upstream: picks a target (another one than those tried, when it can) and dispatches. */
  private dispatchAttempt(req: IncomingMessage): void {
    const { ctx } = this;
    const route = this.route as CompiledRoute;
    const now = this.attempts === 0 ? this.startedEpochMs : ctx.clock.epochMs();
    if (this.target !== null) (this.tried ??= new Set()).add(this.target);
    const upstream = route.upstream.pick(this, now, this.tried);
    if (upstream === null) {
      this.respondUnavailable(route.upstream.circuitOpen(now));
      return;
    }
    this.target = upstream;
    this.attempts += 1;
    this.upstreamSettled = false;
    this.abortUpstream = null;
    this.targetOutcome = "neutral";
    this.targetReported = false;
    this.bytesIn = 0;
    upstream.started();
    this.upstreamStartMs = ctx.clock.monotonicMs();
    const options = {
      path: this.upstreamPath,
      method: this.method,
      headers: (this.head as RequestHead).headers,
      body: this.bodyOverride ?? (this.hasBody ? req : null),
      headersTimeout: route.responseHeadersTimeoutMs,
    };
    const breaker = upstream.breaker;
    if (breaker === null) {
      upstream.pool.dispatch(options, this);
      return;
    }
    let dispatched = false;
    breaker.run((settle) => {
      dispatched = true;
      this.breakerSettle = settle;
      upstream.pool.dispatch(options, this);
    });
    // The breaker was checked by the balancer just now; should it still refuse, the attempt fails fast.
    if (!dispatched) {
      this.reportTarget("neutral");
      this.respondUnavailable(true);
    }
  }

  /** No target can take the request: 503, circuit-open when breakers keep healthy targets out. */
  private respondUnavailable(circuitOpen: boolean): void {
    const name = (this.route as CompiledRoute).upstream.name;
    if (circuitOpen) {
      const message = `every healthy target of upstream "${name}" has its circuit breaker open`;
      this.respondWithFailure(new UpstreamError(problems.circuitOpen, "circuit-open", message, { cause: null }), message);
    } else {
      const message = `no healthy target in upstream "${name}"`;
      this.respondWithFailure(new UpstreamError(problems.noHealthyUpstream, "upstream-error", message, { cause: null }), message);
    }
  }

  /** An asynchronous policy chain has decided. */
  private readonly afterPolicies = (rejection: PolicyRejection | null): void => {
    // The client left while the policies waited: its close already recorded the request.
    if (this.done) return;
    try {
      if (rejection !== null) this.refuse(rejection);
      else this.forward();
    } catch (error) {
      this.fail(error);
    }
  };

  private readonly policiesFailed = (error: unknown): void => {
    this.fail(error);
  };

  /** Answers a policy's refusal (401, 403, 429, 503) with its extra headers, such as WWW-Authenticate or Retry-After. */
  private refuse(rejection: PolicyRejection): void {
    const { res } = this;
    this.setExtraResponseHeaders();
    for (const [name, value] of rejection.headers) res.setHeader(name, value);
    const { limit } = rejection;
    this.rejection = { stage: rejection.stage, reason: truncate(rejection.reason), limit };
    this.bytesOut = sendProblem(
      res,
      rejection.problem,
      this.requestId,
      truncate(rejection.detail ?? rejection.reason),
      this.ctx.draining,
      limit === null ? undefined : { limit },
    );
  }

  /** The policies' response headers, on a response the gateway writes itself (sendProblem merges them in). */
  setExtraResponseHeaders(): void {
    if (this.xCache !== null) this.res.setHeader("x-cache", this.xCache);
    const extra = this.extraResponseHeaders;
    if (extra === null) return;
    for (let index = 0; index < extra.length; index += 2) this.res.setHeader(extra[index] as string, extra[index + 1] as string);
  }

  /** An exception escaped the gateway's own code: answer 500 if still possible. */
  fail(error: unknown): void {
    this.ctx.logger.error({ err: error, requestId: this.requestId }, "request handling failed");
    if (this.done) return;
    this.failure = { kind: "upstream-error", detail: truncate(`internal error: ${error instanceof Error ? error.message : String(error)}`) };
    this.upstreamSettled = true;
    this.requestId ||= this.ctx.ids.requestId();
    if (!this.res.headersSent) this.bytesOut = sendProblem(this.res, problems.internalError, this.requestId, "the gateway failed to handle the request", true);
    else this.res.destroy();
  }

  /** Shutdown grace expired with this request still in flight; its connection is about to be closed. */
  abandon(): void {
    if (this.done || this.failure !== null || this.rejection !== null) return;
    this.failure = { kind: "timeout", detail: "shutdown grace period expired before the response completed" };
  }

  reject(stage: RejectionStage, problem: ProblemType, reason: string, closeConnection: boolean): void {
    this.rejection = { stage, reason, limit: null };
    if (closeConnection) untrustedConnections.add(this.req.socket);
    this.bytesOut = sendProblem(this.res, problem, this.requestId, reason, closeConnection || this.ctx.draining);
  }

  // undici handler. The legacy callbacks are used on purpose: undici 7 still runs
  // them natively and wraps the newer controller API around them, which adds a
  // wrapper and parses every response head into an object the gateway does not use.

  onConnect(abort: (reason?: Error) => void): void {
    // A request that waited in the pool queue while its client left, or past the route's
    // total timeout, is dropped here.
    if (this.done || this.totalTimedOut) {
      abort(new errors.RequestAbortedError());
      return;
    }
    this.abortUpstream = abort;
    // undici checks headersTimeout on a clock that ticks every half second, so a route's
    // timeout under a second could fire up to a second late; such a one gets a timer of its own.
    const headMs = (this.route as CompiledRoute).responseHeadersTimeoutMs;
    if (headMs !== undefined && headMs < preciseHeadTimeoutBelowMs) {
      this.clearHeadTimer();
      this.headTimer = setTimeout(this.onHeadTimeout, headMs);
    }
  }

  private readonly onHeadTimeout = (): void => {
    this.headTimer = null;
    if (this.done || this.upstreamSettled || this.abortUpstream === null) return;
    this.abortUpstream(new errors.HeadersTimeoutError());
  };

  private clearHeadTimer(): void {
    if (this.headTimer === null) return;
    clearTimeout(this.headTimer);
    this.headTimer = null;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx interim responses (103 Early Hints) are not relayed in this slice.
    if (statusCode < 200) return true;
    this.clearHeadTimer();
    if (statusCode > 599) {
      throw new UpstreamResponseError(`${this.target?.origin ?? "upstream"} answered with status ${statusCode}`, { cause: null });
    }
    this.upstreamLatencyMs = this.ctx.clock.monotonicMs() - this.upstreamStartMs;
    // 502, 503 and 504 from a target count against its health, as in nginx's max_fails.
    this.targetOutcome = statusCode >= 502 && statusCode <= 504 ? "failure" : "success";
    this.resumeUpstream = resume;
    const headers = buildResponseHeaders(rawHeaders, this.requestId, this.ctx.draining);
    // The upstream's own headers end before the x-request-id (and connection) the gateway appended.
    if (this.cacheFill !== null) this.cacheFill.head(statusCode, headers, headers.length - (this.ctx.draining ? 4 : 2));
    if (this.xCache !== null) headers.push("x-cache", this.xCache);
    const extra = this.extraResponseHeaders;
    if (extra !== null) for (let index = 0; index < extra.length; index++) headers.push(extra[index] as string);
    try {
      this.res.writeHead(statusCode, headers);
    } catch (error) {
      throw new UpstreamResponseError(`response head from ${this.target?.origin ?? "upstream"} cannot be relayed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytesOut += chunk.length;
    if (this.cacheFill !== null) this.cacheFill.data(chunk);
    if (this.res.write(chunk)) return true;
    // Backpressure: undici stops reading the upstream socket until the client drains.
    this.res.once("drain", this.onDrain);
    return false;
  }

  onComplete(): void {
    this.reportTarget(this.targetOutcome);
    this.upstreamSettled = true;
    this.clearTotalTimer();
    if (this.cacheFill !== null) {
      // Stored before the client's response ends, so requests collapsed behind this one are answered from it.
      this.cacheFill.complete();
      this.cacheFill = null;
    }
    this.res.end();
  }

  onBodySent(chunk: Buffer | string | number): void {
    this.bytesIn += typeof chunk === "number" ? chunk : chunk.length;
  }

  onError(error: Error): void {
    this.upstreamSettled = true;
    this.clearHeadTimer();
    const { res } = this;
    // The client left first (undici saw its request body break off, or the request was
    // dropped from the pool queue): nothing is known about the target, and its close
    // handler records the abort. Or an attempt the route's total timeout gave up on,
    // after the gateway answered. (The client socket is read from the exchange: once
    // undici has destroyed a fully read request body, `req.socket` is gone.)
    if (this.done || res.destroyed || this.clientSocket.destroyed || (this.totalTimedOut && this.failure !== null)) {
      this.reportTarget("neutral");
      return;
    }
    const upstreamError = error instanceof UpstreamError ? error : toUpstreamError(error, this.target?.origin ?? "upstream");
    this.reportTarget("failure");
    if (this.mayRetry(upstreamError)) {
      const retry = (this.route as CompiledRoute).retry as RouteRetry;
      this.retryTimer = setTimeout(this.retryNow, backoffDelayMs(this.attempts, retry.backoffBaseMs, retry.backoffMaxMs));
      return;
    }
    this.respondWithFailure(upstreamError, `${upstreamError.problem.title} (upstream "${this.route?.upstream.name ?? ""}")`);
  }

  /**
   * Records the failure and answers it: the route's fallback or a problem if nothing was
   * sent yet, else the connection is cut.
   */
  respondWithFailure(error: UpstreamError, detail: string): void {
    const { res } = this;
    this.upstreamSettled = true;
    this.clearTotalTimer();
    this.failure = { kind: error.failure, detail: truncate(error.message) };
    // stale-if-error: an expired cached response answers before the static fallback would.
    if (this.staleEntry !== null && !res.headersSent && (this.route as CompiledRoute).cache?.answersFailure(this, error.failure) === true) return;
    const fallback = (this.route as CompiledRoute).fallback;
    if (fallback !== null && !res.headersSent && fallback.on.has(error.failure)) {
      this.fallbackServed = true;
      this.setExtraResponseHeaders();
      res.writeHead(fallback.status, [...fallback.headers, "x-request-id", this.requestId]);
      res.end(fallback.body);
      this.bytesOut = fallback.body.length;
      return;
    }
    if (!res.headersSent) {
      this.setExtraResponseHeaders();
      this.bytesOut = sendProblem(res, error.problem, this.requestId, detail, this.ctx.draining);
    } else {
      // The status line is already out; all the client can still learn is that the
      // response broke off, which closing the connection tells it.
      res.destroy();
    }
  }

  /**
   * Whether a failed attempt is tried again: the route retries and has attempts left,
   * nothing of the response reached the client, the retry budget allows it, the body
   * can be sent again (none, or buffered by a policy), and the method is idempotent or
   * the request provably never reached the upstream (connection refused).
   */
  private mayRetry(error: UpstreamError): boolean {
    const retry = (this.route as CompiledRoute).retry;
    if (retry === null || this.attempts > retry.attempts || this.totalTimedOut || this.ctx.draining) return false;
    if (this.res.headersSent || (this.hasBody && this.bodyOverride === null)) return false;
    if (!idempotentMethods.has(this.method) && !neverReachedUpstream(error)) return false;
    return retry.budget.tryRetry(this.ctx.clock.epochMs());
  }

  private readonly retryNow = (): void => {
    this.retryTimer = null;
    if (this.done) return;
    try {
      this.dispatchAttempt(this.req);
    } catch (error) {
      this.fail(error);
    }
  };

  /** The route's total timeout: whatever the request is doing upstream, it ends with 504. */
  private readonly onTotalTimeout = (): void => {
    this.totalTimer = null;
    if (this.done || this.upstreamSettled) return;
    this.totalTimedOut = true;
    const route = this.route as CompiledRoute;
    const error = new UpstreamTimeoutError(`no complete response within the route's total timeout of ${route.totalTimeoutMs} ms`, { cause: null });
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    // An attempt in flight is aborted (its onError answers); one still queued in the pool
    // is dropped when it would connect, and answered now.
    if (this.abortUpstream !== null) this.abortUpstream(error);
    else this.respondWithFailure(error, `${error.problem.title} (upstream "${route.upstream.name}")`);
  };

  private clearTotalTimer(): void {
    if (this.totalTimer === null) return;
    clearTimeout(this.totalTimer);
    this.totalTimer = null;
  }

  /**
   * The client connection closed. Node emits `close` on a response only once it
   * owns the socket; a pipelined request whose response was still queued behind
   * another one would otherwise never finish, and never be recorded.
   */
  connectionClosed(): void {
    this.onClose();
  }

  /** Tells the target's upstream how the request went (passive health), once. */
  private reportTarget(outcome: TargetOutcome): void {
    const target = this.target;
    if (target === null || this.targetReported) return;
    this.targetReported = true;
    const settle = this.breakerSettle;
    if (settle !== null) {
      this.breakerSettle = null;
      settle(outcome);
    }
    (this.route as CompiledRoute).upstream.report(target, outcome, this.ctx.clock.epochMs());
  }

  private readonly onDrain = (): void => {
    this.resumeUpstream?.();
  };

  private readonly onClose = (): void => {
    if (this.done) return;
    this.done = true;
    const endMs = this.ctx.clock.monotonicMs();
    if (this.rejection === null && this.failure === null && !this.res.writableFinished) {
      this.failure = { kind: "client-abort", detail: "the client closed the connection before the response completed" };
    }
    // A client that leaves takes its upstream request with it.
    if (!this.upstreamSettled && this.abortUpstream !== null) this.abortUpstream(new errors.RequestAbortedError());
    // A fill that did not complete releases the requests collapsed behind it.
    if (this.cacheFill !== null) {
      this.cacheFill.release();
      this.cacheFill = null;
    }
    this.clearTotalTimer();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.ctx.finish(this, this.toEvent(endMs));
  };

  /** The targets of a retried request, in the order they were first tried (the last attempt's included). */
  private targetsTried(): string[] {
    const origins: string[] = [];
    for (const target of this.tried ?? []) origins.push(target.origin);
    const last = this.target?.origin;
    if (last !== undefined && !origins.includes(last)) origins.push(last);
    return origins;
  }

  /**
   * Every event is written out as one object literal per type: building it from a
   * shared base with object spread made V8 fall back to slow dictionary objects, at
   * microseconds per request.
   */
  private toEvent(endMs: number): RequestEvent {
    const { res, route, req } = this;
    const startedAt = isoTimestamp(this.startedEpochMs);
    const durationMs = roundMs(endMs - this.startedMs);
    const status = res.headersSent ? res.statusCode : clientClosedStatus;
    const gatewayId = this.ctx.gatewayId;
    const method = req.method ?? "";
    if (this.rejection !== null) {
      return {
        type: "RequestRejected",
        version: 1,
        data: {
          requestId: this.requestId,
          gatewayId,
          startedAt,
          durationMs,
          routeId: route?.id ?? null,
          method,
          path: this.path,
          routeTemplate: route?.template ?? null,
          status,
          clientIp: this.clientIp,
          bytesIn: this.bytesIn,
          bytesOut: this.bytesOut,
          controlPlaneVersion: this.controlPlaneVersion,
          consumerId: this.consumerId,
          credentialId: this.credentialId,
          planId: this.planId,
          subscriptionId: this.subscriptionId,
          stage: this.rejection.stage,
          reason: this.rejection.reason,
          limit: this.rejection.limit,
          graphql: this.graphql ?? undefined,
          grpc: this.grpc ?? undefined,
        },
      };
    }
    if (this.failure !== null) {
      return {
        type: "RequestFailed",
        version: 1,
        data: {
          requestId: this.requestId,
          gatewayId,
          startedAt,
          durationMs,
          routeId: route?.id ?? null,
          method,
          path: this.path,
          routeTemplate: route?.template ?? null,
          status,
          clientIp: this.clientIp,
          bytesIn: this.bytesIn,
          bytesOut: this.bytesOut,
          controlPlaneVersion: this.controlPlaneVersion,
          consumerId: this.consumerId,
          credentialId: this.credentialId,
          planId: this.planId,
          subscriptionId: this.subscriptionId,
          upstream: this.target?.origin ?? null,
          attempts: this.attempts,
          targetsTried: this.tried === null ? undefined : this.targetsTried(),
          error: this.failure.kind,
          detail: this.failure.detail,
          fallbackServed: this.fallbackServed,
          graphql: this.graphql ?? undefined,
          grpc: this.grpc ?? undefined,
        },
      };
    }
    return {
      type: "RequestCompleted",
      version: 1,
      data: {
        requestId: this.requestId,
        gatewayId,
        startedAt,
        durationMs,
        routeId: route?.id ?? null,
        method,
        path: this.path,
        routeTemplate: route?.template ?? null,
        status,
        clientIp: this.clientIp,
        bytesIn: this.bytesIn,
        bytesOut: this.bytesOut,
        controlPlaneVersion: this.controlPlaneVersion,
        consumerId: this.consumerId,
        credentialId: this.credentialId,
        planId: this.planId,
        subscriptionId: this.subscriptionId,
        upstream: this.target?.origin ?? "",
        attempts: this.attempts,
        upstreamLatencyMs: roundMs(Math.max(this.upstreamLatencyMs, 0)),
        targetsTried: this.tried === null ? undefined : this.targetsTried(),
        graphql: this.graphql ?? undefined,
        grpc: this.grpc ?? undefined,
        cacheStatus: this.cacheStatus,
      },
    };
  }
}

/**
 * Message framing the gateway refuses, beyond what Node's parser (llhttp, strict
 * mode) already rejects before a request exists: Content-Length together with
 * Transfer-Encoding, a Transfer-Encoding that does not end in chunked, repeated
 * Transfer-Encoding lines, duplicate Content-Length and whitespace before a colon.
 * Every check here closes the connection, because the bytes after an ambiguous
 * request are exactly where a smuggled second request would hide.
 */
function framingProblem(req: IncomingMessage, head: RequestHead): string | null {
  if (head.contentLengthCount > 1) return "more than one Content-Length header (RFC 9112 6.3)";
  if (head.transferEncodingCount === 0) return null;
  if (head.contentLengthCount > 0) return "both Content-Length and Transfer-Encoding (RFC 9112 6.1)";
  // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means its framing is faulty.
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 6.1)";
  // Exactly "chunked": any other coding is one another hop might read differently
  // (RFC 9112 6.1 lets a server refuse codings it does not support). RFC 9112 7
  // makes coding names case-insensitive, but "Chunked" is a classic obfuscation: a
  // proxy in front that does not recognize it sees no body, the gateway sees one, and
  // the two disagree on where the next request starts. No real client sends it.
  if (head.transferEncodingCount > 1 || head.transferEncoding !== "chunked") {
    return 'unsupported Transfer-Encoding: only "chunked" is accepted';
  }
  return null;
}

/** RFC 9112 3.2: exactly one valid Host in HTTP/1.1 requests, at most one in HTTP/1.0. */
function hostHeaderProblem(req: IncomingMessage, head: RequestHead): string | null {
  if (head.hostCount > 1) return "more than one Host header (RFC 9112 3.2)";
  if (head.host === undefined) {
    return req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 ? "missing Host header (RFC 9112 3.2)" : null;
  }
  return hostValue.test(head.host) ? null : "invalid Host header (RFC 9112 3.2)";
}

/** The host as routes name it: lower-case, without port and without a trailing dot. */
export function routingHost(host: string | undefined): string {
  if (host === undefined || host.length === 0) return "";
  let end = host.length;
  if (host.charCodeAt(0) === 0x5b) {
    end = host.indexOf("]") + 1;
  } else {
    const colon = host.indexOf(":");
    if (colon !== -1) end = colon;
    if (host.charCodeAt(end - 1) === 0x2e) end -= 1;
  }
  return host.slice(0, end).toLowerCase();
}

/** The request target without its query, as recorded for requests refused before normalization. */
function rawPathOf(target: string | undefined): string {
  const value = target ?? "";
  const queryAt = value.indexOf("?");
  return queryAt === -1 ? value : value.slice(0, queryAt);
}

function roundMs(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function truncate(text: string): string {
  return text.length <= maxDetail ? text : `${text.slice(0, maxDetail - 1)}…`;
}

/** Connection refused: the request provably never reached the upstream, so any method may be retried. */
function neverReachedUpstream(error: UpstreamError): boolean {
  return (error.cause as { code?: unknown } | null)?.code === "ECONNREFUSED";
}
