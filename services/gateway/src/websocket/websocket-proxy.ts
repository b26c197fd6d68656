import { ServerResponse, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { RequestEvent } from "@tollgate/events";
import { WebSocketServer } from "ws";
import type { CompiledRoute } from "../compiled-route.js";
import { routingHost, type ExchangeContext } from "../exchange.js";
import { isSaneRequestId, scanRequestHeaders } from "../headers.js";
import { stripIdentityHeaders } from "../identity/identity-headers.js";
import { normalizePath, PathRejection } from "../normalize-path.js";
import { normalizeAddress } from "../trust-proxy.js";
import type { RouteWebSocketConfig } from "./websocket-config.js";
import { closeCodes } from "./websocket-relay.js";
import { upstreamSubprotocols, WebSocketProxySession, type SessionStart } from "./websocket-session.js";

export interface WebSocketProxyOptions {
  /** The server's exchange context: router, trust, ids, clock, identity. */
  context: ExchangeContext;
  /** The plain request path: what an upgrade that is not a WebSocket session becomes. */
  onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** Receives each session's one event, with its route (metrics, access log, recorder). */
  record: (event: RequestEvent, route: CompiledRoute) => void;
}

export interface WebSocketProxy {
  /** The server's 'upgrade' listener. */
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Sessions open or in their handshake. */
  readonly sessions: number;
  /**
   * Graceful stop: sessions may end by themselves until `graceMs` has passed; then each
   * one left is closed with 1001 (Going Away), and terminated if its close handshake has
   * not finished `settleMs` later. Resolves once every session has recorded its event.
   * Upgrades arriving from then on are closed with 1001 as soon as they are established.
   */
  shutdown(graceMs: number, settleMs?: number): Promise<void>;
}

/**
 * The gateway's WebSocket proxy: the 'upgrade' listener of the node:http server. An
 * upgrade to `websocket` on a route with `websocket.enabled` becomes a session
 * (websocket-session.ts); every other upgrade (h2c, or any upgrade on another route, or
 * one whose request line, path or Host the request path would refuse) is handed to the
 * plain request path with a response of its own, exactly as if Node had not seen an
 * Upgrade header: it is proxied as HTTP with Upgrade dropped as hop-by-hop, or refused
 * there with its problem and event.
 */
export function createWebSocketProxy(options: WebSocketProxyOptions): WebSocketProxy {
  const { context } = options;
  const sessions = new Set<WebSocketProxySession>();
  const idleWaiters = new Set<() => void>();
  // perMessageDeflate off on both hops: messages are relayed as they are, never
  // decompressed and recompressed, and the byte counts are what crossed the wire.
  /** One ws server per message size limit (ws sets maxPayload per server); none of them listens. */
  const servers = new Map<number, WebSocketServer>();
  const serverFor = (maxPayload: number): WebSocketServer => {
    let server = servers.get(maxPayload);
    if (server === undefined) {
      server = new WebSocketServer({
        noServer: true,
        perMessageDeflate: false,
        clientTracking: false,
        maxPayload,
        // The client's handshake answers with the subprotocol the upstream chose, if any.
        handleProtocols: (_offered, request) => upstreamSubprotocols.get(request) ?? false,
      });
      servers.set(maxPayload, server);
    }
    return server;
  };
  let closingCode: number | null = null;

  const end = (session: WebSocketProxySession, event: RequestEvent): void => {
    sessions.delete(session);
    try {
      options.record(event, session.route);
    } catch (error) {
      context.logger.error({ err: error, requestId: event.data.requestId }, "recording the WebSocket session's event failed");
    }
    if (sessions.size === 0) for (const resolve of idleWaiters) resolve();
  };

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const routed = routeUpgrade(req, socket);
    if (routed === null) {
      asPlainRequest(req, socket, head, options.onRequest);
      return;
    }
    const session = new WebSocketProxySession({ exchange: context, server: serverFor(routed.route.websocket.maxMessageBytes), end }, { ...routed, head });
    sessions.add(session);
    session.run();
    if (closingCode !== null) session.close(closingCode, "gateway shutting down");
  }

  /** Routes the upgrade as the Exchange would; null when it is not a WebSocket session. */
  function routeUpgrade(req: IncomingMessage, socket: Duplex): Omit<SessionStart, "head"> | null {
    if (req.method !== "GET" || !/^websocket$/i.test(String(req.headers.upgrade ?? ""))) return null;
    const target = req.url ?? "";
    if (!target.startsWith("/")) return null;
    const peer = normalizeAddress((socket as Socket).remoteAddress);
    const trustedPeer = context.trust.isTrusted(peer);
    const requestHead = scanRequestHeaders(req.rawHeaders, trustedPeer);
    // Framing and Host problems are the request path's to refuse, with their event.
    if (requestHead.hostCount !== 1 || requestHead.contentLengthCount > 0 || requestHead.transferEncodingCount > 0) return null;
    const queryAt = target.indexOf("?");
    const path = normalizePath(queryAt === -1 ? target : target.slice(0, queryAt));
    if (path instanceof PathRejection) return null;
    const route = context.router.match("GET", routingHost(requestHead.host), path);
    if (route === undefined || route.websocket === null) return null;
    stripIdentityHeaders(requestHead.headers, context.identityHeaders);
    const requestId = requestHead.requestId !== undefined && isSaneRequestId(requestHead.requestId) ? requestHead.requestId : context.ids.requestId();
    return {
      req,
      socket,
      route: route as CompiledRoute & { websocket: RouteWebSocketConfig },
      requestHead,
      requestId,
      peer,
      trustedPeer,
      clientIp: trustedPeer ? context.trust.clientIp(peer, requestHead.forwardedFor) : peer,
      path,
      query: queryAt === -1 ? "" : target.slice(queryAt),
    };
  }

  function waitForSessions(timeoutMs: number): Promise<boolean> {
    if (sessions.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        idleWaiters.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        idleWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      idleWaiters.add(done);
    });
  }

  return {
    handleUpgrade,
    get sessions() {
      return sessions.size;
    },
    async shutdown(graceMs, settleMs = 2_000) {
      if (await waitForSessions(graceMs)) {
        closingCode = closeCodes.goingAway;
        return;
      }
      closingCode = closeCodes.goingAway;
      context.logger.info({ sessions: sessions.size }, "closing WebSocket sessions with 1001 after the shutdown grace period");
      for (const session of sessions) session.close(closeCodes.goingAway, "gateway shutting down");
      if (await waitForSessions(settleMs)) return;
      for (const session of sessions) session.terminate();
      await waitForSessions(settleMs);
    },
  };
}

/**
 * Hands an upgrade request to the plain request path with a response of its own, as
 * Node would have done had no 'upgrade' listener been registered. Its connection is
 * not kept alive: Node's parser has let go of the socket.
 */
function asPlainRequest(req: IncomingMessage, socket: Duplex, head: Buffer, onRequest: (req: IncomingMessage, res: ServerResponse) => void): void {
  if (head.length > 0) socket.unshift(head);
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  // The socket stays assigned, so that its close emits the response's 'close' (the Exchange's cue to record).
  res.once("finish", () => socket.end(() => socket.destroy()));
  socket.on("error", () => socket.destroy());
  onRequest(req, res);
}
