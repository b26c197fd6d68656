import type { WebSocketSession } from "@tollgate/events";
import type { RawData, WebSocket } from "ws";

/** What a relay needs to know of its route. */
export interface RelayLimits {
  readonly idleTimeoutMs: number;
  /** 0: no limit. */
  readonly maxLifetimeMs: number;
}

/** Close codes the gateway itself sends (RFC 6455 7.4.1). */
export const closeCodes = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  invalidPayload: 1007,
  messageTooBig: 1009,
  internalError: 1011,
} as const;

/**
 * Bytes queued towards one side above which the other side stops being read, and below
 * which it is read again. A slow reader thus holds at most about this much in the
 * gateway's memory per direction, plus the message being received.
 */
export const highWaterMarkBytes = 1_048_576;
export const lowWaterMarkBytes = 262_144;

export interface RelayHandle {
  /** The gateway ends the session (timeouts, shutdown): both sides get `code`. */
  close(code: number, reason: string): void;
  /** Ends both connections at once, without a close handshake. */
  terminate(): void;
}

type Side = "client" | "upstream";

/**
 * Relays messages between the client's and the upstream's WebSocket until both have
 * closed, then calls `onClosed` once with what went through.
 *
 * - Text stays text and binary stays binary; a message is relayed whole (ws reassembles
 *   fragments), so counts are messages, not frames.
 * - Backpressure: once more than `highWaterMarkBytes` wait to be written to one side,
 *   the other side's socket is paused (TCP then slows its sender down), and resumed
 *   when the queue has drained below `lowWaterMarkBytes`.
 * - Pings are answered on each hop by ws itself and are not relayed; any frame, ping and
 *   pong included, counts as activity for the idle timeout.
 * - A close from one side is passed on to the other with its code and reason. Codes that
 *   must not be sent in a close frame (1005 none given, 1006 dropped) become a close
 *   without a code and 1001 respectively. The first close decides the recorded code.
 */
export function relayMessages(client: WebSocket, upstream: WebSocket, limits: RelayLimits, onClosed: (session: WebSocketSession) => void): RelayHandle {
  const session: WebSocketSession = {
    messagesFromClient: 0,
    messagesFromUpstream: 0,
    bytesFromClient: 0,
    bytesFromUpstream: 0,
    closeCode: closeCodes.normal,
    closedBy: "client",
  };
  let decided = false;
  const open = { client: true, upstream: true };
  let lastActivity = Date.now();
  let idleTimer: NodeJS.Timeout | null = null;
  let lifetimeTimer: NodeJS.Timeout | null = null;

  const decide = (code: number, by: WebSocketSession["closedBy"]): void => {
    if (decided) return;
    decided = true;
    session.closeCode = code;
    session.closedBy = by;
  };

  const touch = (): void => {
    lastActivity = Date.now();
  };

  const onIdleCheck = (): void => {
    const idleFor = Date.now() - lastActivity;
    if (idleFor >= limits.idleTimeoutMs) {
      idleTimer = null;
      handle.close(closeCodes.goingAway, "idle timeout");
      return;
    }
    idleTimer = setTimeout(onIdleCheck, limits.idleTimeoutMs - idleFor);
  };
  idleTimer = setTimeout(onIdleCheck, limits.idleTimeoutMs);
  if (limits.maxLifetimeMs > 0) {
    lifetimeTimer = setTimeout(() => {
      lifetimeTimer = null;
      handle.close(closeCodes.normal, "maximum session lifetime reached");
    }, limits.maxLifetimeMs);
  }

  const pipe = (from: WebSocket, to: WebSocket, side: Side): void => {
    const other: Side = side === "client" ? "upstream" : "client";
    const afterSend = (): void => {
      if (from.isPaused && to.bufferedAmount <= lowWaterMarkBytes) from.resume();
    };
    from.on("message", (data: RawData, isBinary: boolean) => {
      touch();
      const size = byteLength(data);
      if (side === "client") {
        session.messagesFromClient += 1;
        session.bytesFromClient += size;
      } else {
        session.messagesFromUpstream += 1;
        session.bytesFromUpstream += size;
      }
      // A message that arrives while the other side is closing has nowhere to go.
      if (to.readyState !== to.OPEN) return;
      to.send(data, { binary: isBinary }, afterSend);
      if (to.bufferedAmount > highWaterMarkBytes && !from.isPaused) from.pause();
    });
    from.on("ping", touch);
    from.on("pong", touch);
    from.on("error", (error: Error & { code?: string }) => {
      // ws closes the side that erred with the matching code; the other side hears it too.
      const code = protocolErrorCode(error);
      decide(code, "gateway");
      closeSide(to, code, "");
    });
    from.on("close", (code: number, reason: Buffer) => {
      open[side] = false;
      decide(code, side);
      // A paused side would never read the close frame of its peer.
      if (to.isPaused) to.resume();
      if (open[other]) closeSide(to, code, reason);
      else finish();
    });
  };

  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    if (idleTimer !== null) clearTimeout(idleTimer);
    if (lifetimeTimer !== null) clearTimeout(lifetimeTimer);
    onClosed(session);
  };

  pipe(client, upstream, "client");
  pipe(upstream, client, "upstream");

  const handle: RelayHandle = {
    close(code, reason) {
      decide(code, "gateway");
      closeSide(client, code, reason);
      closeSide(upstream, code, reason);
    },
    terminate() {
      decide(closeCodes.goingAway, "gateway");
      client.terminate();
      upstream.terminate();
    },
  };
  return handle;
}

/** Sends a close frame unless the side is closing already, translating codes that may not be sent. */
function closeSide(ws: WebSocket, code: number, reason: Buffer | string): void {
  if (ws.readyState === ws.CLOSING || ws.readyState === ws.CLOSED) return;
  if (code === 1005) ws.close();
  else if (isSendableCloseCode(code)) ws.close(code, reason);
  else ws.close(closeCodes.goingAway);
}

/** RFC 6455 7.4: codes an endpoint may put in a close frame (ws enforces the same set). */
export function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** The close code ws sends when a peer breaks the protocol, from its error code. */
function protocolErrorCode(error: Error & { code?: string }): number {
  switch (error.code) {
    case "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH":
      return closeCodes.messageTooBig;
    case "WS_ERR_INVALID_UTF8":
      return closeCodes.invalidPayload;
    case undefined:
      // A socket error (ECONNRESET): the connection dropped.
      return 1006;
    default:
      return error.code.startsWith("WS_ERR_") ? closeCodes.protocolError : 1006;
  }
}

function byteLength(data: RawData): number {
  if (Buffer.isBuffer(data)) return data.length;
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.length, 0);
  return data.byteLength;
}
