import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { FailureKind, RequestEvent, RequestRejected, WebSocketSession as SessionFacts } from "@tollgate/events";
import { WebSocket, type WebSocketServer } from "ws";
import { stripRoutePrefix, type CompiledRoute } from "../compiled-route.js";
import { problems, type ProblemType } from "../errors/problem-catalog.js";
import type { ExchangeContext } from "../exchange.js";
import { appendForwardingHeaders, type RequestHead } from "../headers.js";
import { appendIdentityHeaders } from "../identity/identity-headers.js";
import { isoTimestamp } from "../iso-timestamp.js";
import type { AuthenticatedIdentity } from "../policies/authenticator.js";
import type { PolicyExchange, PolicyRejection } from "../policies/policy-step.js";
import type { UpstreamTarget } from "../proxy/upstream.js";
import type { RouteWebSocketConfig } from "./websocket-config.js";
import { handshakeProblemResponse, type ExtraHeaders } from "./handshake-response.js";
import { relayMessages, type RelayHandle } from "./websocket-relay.js";

/** What a session was given by the upgrade dispatcher: the request, already routed. */
export interface SessionStart {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  /** Bytes the client sent after the request head (the start of its first frames). */
  readonly head: Buffer;
  readonly route: CompiledRoute & { readonly websocket: RouteWebSocketConfig };
  readonly requestHead: RequestHead;
  readonly requestId: string;
  readonly peer: string;
  readonly trustedPeer: boolean;
  readonly clientIp: string;
  readonly path: string;
  readonly query: string;
}

/** What the session needs from the server. */
export interface SessionContext {
  readonly exchange: Pick<ExchangeContext, "gatewayId" | "clock" | "identity" | "identityHeaders" | "logger">;
  /** Completes client handshakes; never listens itself (noServer). */
  readonly server: WebSocketServer;
  /** Called exactly once per session with its event, when it is over. */
  end(session: WebSocketProxySession, event: RequestEvent): void;
}

/** Headers the upstream handshake sets itself; the client's values belong to the client's hop. */
const handshakeHeaders: ReadonlySet<string> = new Set(["sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol"]);

const maxDetail = 500;

/**
 * The subprotocol each upstream chose, by upgrade request: read by the ws server's
 * handleProtocols when it completes the client's handshake.
 */
export const upstreamSubprotocols = new WeakMap<IncomingMessage, string>();

/**
 * One WebSocket upgrade through the gateway, from the request head to the close of both
 * connections. The handshake is decided like a request: the route's compiled policy
 * chain runs against this object (it is the chain's PolicyExchange, as the Exchange is
 * for plain requests), so authentication, authorization, rate limits and quota apply
 * unchanged, and a refusal is the same problem+json, written on the raw socket.
 *
 * The upstream's handshake completes before the client's: a client gets 101 only once
 * the upstream accepted, and a failing upstream is a 502/503/504 like any other. Each
 * session ends in exactly one event: RequestRejected (refused at the handshake),
 * RequestFailed (the upstream could not be reached, or the client left during the
 * handshake) or RequestCompleted with `websocket` (the session, recorded at close).
 */
export class WebSocketProxySession implements PolicyExchange {
  /** Tells policies that read request bodies (graphql) that this is a WebSocket handshake. */
  readonly protocol = "websocket";
  // PolicyExchange: what the route's policies read and establish.
  readonly method: string;
  readonly path: string;
  query: string;
  readonly clientIp: string;
  readonly receivedAtMs: number;
  readonly headers: string[];
  readonly req: IncomingMessage;
  bodyOverride: Buffer | null = null;
  identity: AuthenticatedIdentity | null = null;
  consumerId: string | null = null;
  credentialId: string | null = null;
  planId: string | null = null;
  subscriptionId: string | null = null;
  controlPlaneVersion: string | null;

  readonly requestId: string;
  readonly route: SessionStart["route"];
  private readonly socket: Duplex;
  private readonly startedMs: number;
  private extraResponseHeaders: [string, string][] = [];
  private target: UpstreamTarget | null = null;
  private upstreamOrigin: string | null = null;
  private upstream: WebSocket | null = null;
  private upstreamLatencyMs = 0;
  private relay: RelayHandle | null = null;
  private state: "handshake" | "open" | "done" = "handshake";
  /** Set when the gateway wants the session gone before it was established (shutdown). */
  private closeRequested: { code: number; reason: string } | null = null;

  constructor(
    private readonly ctx: SessionContext,
    private readonly start: SessionStart,
  ) {
    const { req, route } = start;
    this.req = req;
    this.route = route;
    this.socket = start.socket;
    this.method = req.method ?? "GET";
    this.path = start.path;
    this.query = start.query;
    this.clientIp = start.clientIp;
    this.headers = start.requestHead.headers;
    this.requestId = start.requestId;
    this.receivedAtMs = ctx.exchange.clock.epochMs();
    this.startedMs = ctx.exchange.clock.monotonicMs();
    this.controlPlaneVersion = ctx.exchange.identity?.version ?? null;
  }

  get established(): boolean {
    return this.state === "open";
  }

  addResponseHeaders(headers: Readonly<Record<string, string>>): void {
    for (const name in headers) this.extraResponseHeaders.push([name, headers[name] as string]);
  }

  /** Decides the handshake and, when admitted, connects upstream. Never throws. */
  run(): void {
    // Node removed its own socket listeners at the upgrade: without this one, a client
    // resetting the connection would crash the process.
    this.socket.on("error", this.onClientSocketGone);
    this.socket.once("close", this.onClientSocketGone);
    const invalid = handshakeProblem(this.req);
    if (invalid !== null) {
      this.refuseWith("validation", problems.websocketHandshakeInvalid, invalid, [], null, null);
      return;
    }
    const policies = this.route.policies;
    if (policies === null) {
      this.connectUpstream();
      return;
    }
    try {
      if (policies.async) {
        policies.run(this).then(this.afterPolicies, this.onInternalError);
        return;
      }
      this.afterPolicies(policies.run(this));
    } catch (error) {
      this.onInternalError(error);
    }
  }

  /**
   * The gateway ends the session: an established one gets `code` on both connections;
   * one still in its handshake gets it as soon as it is established (shutdown asks this
   * only after the grace period, and a refused or failed handshake ends by itself).
   */
  close(code: number, reason: string): void {
    if (this.state === "open") this.relay?.close(code, reason);
    else if (this.state === "handshake") this.closeRequested = { code, reason };
  }

  /** Ends both connections without a close handshake (shutdown, when closing took too long). */
  terminate(): void {
    if (this.state === "open") this.relay?.terminate();
    else if (this.state === "handshake") {
      this.upstream?.terminate();
      this.socket.destroy();
    }
  }

  private readonly afterPolicies = (rejection: PolicyRejection | null): void => {
    if (this.state !== "handshake" || this.socket.destroyed) return;
    if (rejection === null) {
      this.connectUpstream();
      return;
    }
    const extra: ExtraHeaders = [...this.extraResponseHeaders, ...rejection.headers];
    this.refuseWith(rejection.stage, rejection.problem, rejection.reason, extra, rejection.limit, rejection.detail);
  };

  private readonly onInternalError = (error: unknown): void => {
    this.ctx.exchange.logger.error({ err: error, requestId: this.requestId }, "WebSocket handshake handling failed");
    this.failWith(problems.internalError, "upstream-error", `internal error: ${error instanceof Error ? error.message : String(error)}`, "the gateway failed to handle the request");
  };

  private connectUpstream(): void {
    const { route } = this;
    const now = this.ctx.exchange.clock.epochMs();
    const target = route.upstream.pick(this, now, null);
    if (target === null) {
      this.failWith(problems.noHealthyUpstream, "upstream-error", `no healthy target in upstream "${route.upstream.name}"`);
      return;
    }
    this.target = target;
    this.upstreamOrigin = target.origin;
    target.started();
    const head = this.start.requestHead;
    removeHandshakeHeaders(head.headers);
    if (this.identity !== null) appendIdentityHeaders(head.headers, this.ctx.exchange.identityHeaders, this.identity.consumerId, this.planId);
    appendForwardingHeaders(head, { peer: this.start.peer, trustedPeer: this.start.trustedPeer, requestId: this.requestId, proto: "http" });
    const upstreamPath = (route.stripPrefix ? stripRoutePrefix(route, this.path) : this.path) + this.query;
    const url = target.origin.replace(/^http/, "ws") + upstreamPath;
    const config = route.websocket;
    const upstreamStartedMs = this.ctx.exchange.clock.monotonicMs();
    const upstream = new WebSocket(url, offeredProtocols(this.req), {
      headers: headerObject(head.headers),
      perMessageDeflate: false,
      maxPayload: config.maxMessageBytes,
      handshakeTimeout: config.handshakeTimeoutMs,
      followRedirects: false,
    });
    this.upstream = upstream;
    let settled = false;
    upstream.once("unexpected-response", (request, response) => {
      settled = true;
      const status = response.statusCode ?? 0;
      response.resume();
      request.destroy();
      this.reportTarget(status >= 502 && status <= 504 ? "failure" : "success");
      this.failWith(problems.upstreamBadResponse, "upstream-error", `upstream answered the WebSocket handshake with status ${status}`);
    });
    upstream.on("error", (error: Error) => {
      if (settled) return;
      settled = true;
      const timedOut = /timed out/i.test(error.message);
      this.reportTarget("failure");
      this.failWith(
        timedOut ? problems.upstreamTimeout : problems.upstreamUnreachable,
        timedOut ? "timeout" : "upstream-error",
        timedOut ? `upstream did not complete the WebSocket handshake within ${config.handshakeTimeoutMs} ms` : `upstream unreachable: ${error.message}`,
      );
    });
    upstream.once("open", () => {
      settled = true;
      this.upstreamLatencyMs = this.ctx.exchange.clock.monotonicMs() - upstreamStartedMs;
      this.acceptClient(upstream);
    });
  }

  private acceptClient(upstream: WebSocket): void {
    const { socket } = this;
    if (this.state !== "handshake" || socket.destroyed || !socket.readable || !socket.writable) {
      upstream.terminate();
      this.reportTarget("neutral");
      this.clientGone();
      return;
    }
    socket.off("error", this.onClientSocketGone);
    socket.off("close", this.onClientSocketGone);
    if (upstream.protocol !== "") upstreamSubprotocols.set(this.req, upstream.protocol);
    let accepted = false;
    this.ctx.server.handleUpgrade(this.req, socket, this.start.head, (client) => {
      accepted = true;
      this.state = "open";
      this.relay = relayMessages(client, upstream, this.route.websocket, this.onRelayClosed);
      const requested = this.closeRequested;
      if (requested !== null) this.relay.close(requested.code, requested.reason);
    });
    if (!accepted) {
      // ws refused to complete the handshake (the socket broke in between): nothing reached the client.
      upstream.terminate();
      this.reportTarget("neutral");
      this.clientGone();
    }
  }

  private readonly onRelayClosed = (session: SessionFacts): void => {
    if (this.state === "done") return;
    this.state = "done";
    this.reportTarget("success");
    this.ctx.end(this, this.completedEvent(session));
  };

  private readonly onClientSocketGone = (): void => {
    if (this.state !== "handshake") return;
    this.upstream?.terminate();
    this.reportTarget("neutral");
    this.clientGone();
  };

  private clientGone(): void {
    if (this.state === "done") return;
    this.state = "done";
    this.socket.destroy();
    this.ctx.end(this, this.failedEvent(499, 0, "client-abort", "the client closed the connection before the WebSocket handshake completed"));
  }

  private reportTarget(outcome: "success" | "failure" | "neutral"): void {
    const target = this.target;
    if (target === null) return;
    this.target = null;
    this.route.upstream.report(target, outcome, this.ctx.exchange.clock.epochMs());
  }

  private refuseWith(
    stage: Extract<RequestEvent, { type: "RequestRejected" }>["data"]["stage"],
    problem: ProblemType,
    reason: string,
    headers: ExtraHeaders,
    limit: string | null,
    detail: string | null,
  ): void {
    if (this.state === "done") return;
    this.state = "done";
    const response = handshakeProblemResponse(problem, this.requestId, truncate(detail ?? reason), headers, limit === null ? undefined : { limit });
    this.writeAndClose(response.text);
    this.ctx.end(this, this.rejectedEvent(problem.status, response.bodyBytes, stage, truncate(reason), limit));
  }

  private failWith(problem: ProblemType, kind: FailureKind, reason: string, detail = `${problem.title} (upstream "${this.route.upstream.name}")`): void {
    if (this.state === "done") return;
    this.state = "done";
    const response = handshakeProblemResponse(problem, this.requestId, truncate(detail), this.extraResponseHeaders);
    this.writeAndClose(response.text);
    this.ctx.end(this, this.failedEvent(problem.status, response.bodyBytes, kind, truncate(reason)));
  }

  private writeAndClose(text: string): void {
    const { socket } = this;
    if (socket.destroyed || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(text, () => socket.destroy());
  }

  private durationMs(): number {
    return roundMs(this.ctx.exchange.clock.monotonicMs() - this.startedMs);
  }

  /**
   * What every event of the session says. One event per session, so a shared base built
   * with a spread costs nothing that matters (the exchange writes its events out in full
   * for V8's sake, once per request).
   */
  private baseData(status: number, bytesIn: number, bytesOut: number): RequestBase {
    return {
      requestId: this.requestId,
      gatewayId: this.ctx.exchange.gatewayId,
      startedAt: isoTimestamp(this.receivedAtMs),
      durationMs: this.durationMs(),
      routeId: this.route.id,
      method: this.method,
      path: this.path,
      routeTemplate: this.route.template,
      status,
      clientIp: this.clientIp,
      bytesIn,
      bytesOut,
      controlPlaneVersion: this.controlPlaneVersion,
      consumerId: this.consumerId,
      credentialId: this.credentialId,
      planId: this.planId,
      subscriptionId: this.subscriptionId,
    };
  }

  private rejectedEvent(status: number, bytesOut: number, stage: RequestRejected["data"]["stage"], reason: string, limit: string | null): RequestEvent {
    return { type: "RequestRejected", version: 1, data: { ...this.baseData(status, 0, bytesOut), stage, reason, limit } };
  }

  private failedEvent(status: number, bytesOut: number, error: FailureKind, detail: string): RequestEvent {
    return {
      type: "RequestFailed",
      version: 1,
      data: { ...this.baseData(status, 0, bytesOut), upstream: this.upstreamOrigin, attempts: this.upstream === null ? 0 : 1, error, detail, fallbackServed: false },
    };
  }

  private completedEvent(session: SessionFacts): RequestEvent {
    return {
      type: "RequestCompleted",
      version: 1,
      data: {
        ...this.baseData(101, session.bytesFromClient, session.bytesFromUpstream),
        upstream: this.upstreamOrigin ?? "",
        attempts: 1,
        upstreamLatencyMs: roundMs(this.upstreamLatencyMs),
        cacheStatus: "none",
        websocket: session,
      },
    };
  }
}

/** The fields every request event has (the common part of the three schemas). */
type RequestBase = Omit<RequestRejected["data"], "stage" | "reason" | "limit" | "graphql" | "grpc">;

/**
 * What ws would refuse when completing the client's handshake (RFC 6455 4.2.1), checked
 * first so that the refusal is a problem with an event rather than a bare 400.
 */
function handshakeProblem(req: IncomingMessage): string | null {
  if (req.method !== "GET") return "a WebSocket handshake is a GET request (RFC 6455 4.1)";
  const key = req.headers["sec-websocket-key"];
  if (typeof key !== "string" || !/^[+/0-9A-Za-z]{22}==$/.test(key)) return "missing or invalid Sec-WebSocket-Key (RFC 6455 4.1)";
  const version = req.headers["sec-websocket-version"];
  if (version !== "13" && version !== "8") return "unsupported Sec-WebSocket-Version: 13 is spoken (RFC 6455 4.4)";
  const protocols = req.headers["sec-websocket-protocol"];
  if (protocols !== undefined && parseProtocols(protocols) === null) return "invalid Sec-WebSocket-Protocol (RFC 6455 4.1: distinct tokens, comma-separated)";
  return null;
}

/** The subprotocols the client offered, passed on for the upstream to choose from. */
function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers["sec-websocket-protocol"];
  return header === undefined ? [] : (parseProtocols(header) ?? []);
}

const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Sec-WebSocket-Protocol: distinct RFC 9110 tokens separated by commas; null when it is not. */
export function parseProtocols(header: string): string[] | null {
  const protocols = header.split(",").map((part) => part.trim());
  if (protocols.some((protocol) => !token.test(protocol)) || new Set(protocols).size !== protocols.length) return null;
  return protocols;
}

function removeHandshakeHeaders(headers: string[]): void {
  let write = 0;
  for (let read = 0; read < headers.length; read += 2) {
    if (handshakeHeaders.has((headers[read] as string).toLowerCase())) continue;
    headers[write] = headers[read] as string;
    headers[write + 1] = headers[read + 1] as string;
    write += 2;
  }
  headers.length = write;
}

/** Flat name/value pairs as the header object the ws client takes; a repeated field keeps every line. */
function headerObject(flat: readonly string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let index = 0; index < flat.length; index += 2) {
    const name = (flat[index] as string).toLowerCase();
    const value = flat[index + 1] as string;
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = [existing, value];
  }
  return headers;
}

function roundMs(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function truncate(text: string): string {
  return text.length <= maxDetail ? text : `${text.slice(0, maxDetail - 1)}…`;
}

