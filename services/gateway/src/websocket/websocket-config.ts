import { z } from "zod";

/**
 * `websocket` on a route: whether its upgrade requests are proxied as WebSocket
 * sessions, and the bounds every session lives within. Without it (or with
 * `enabled: false`) an upgrade request is proxied as a plain HTTP request, its Upgrade
 * header dropped as hop-by-hop, exactly as before WebSocket support.
 */
export const RouteWebSocketConfig = z.strictObject({
  enabled: z.boolean().default(false).describe("Proxy WebSocket upgrades on this route (authenticated, authorized and rate-limited at the handshake)"),
  idleTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(86_400_000)
    .default(60_000)
    .describe("A session with no frame (message, ping or pong) in either direction for this long is closed with 1001"),
  maxLifetimeMs: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400_000)
    .default(3_600_000)
    .describe("A session is closed with 1000 once it has been open this long; 0: no limit"),
  maxMessageBytes: z
    .number()
    .int()
    .min(125)
    .max(64 * 1024 * 1024)
    .default(1_048_576)
    .describe("Largest message either side may send; a larger one closes the session with 1009 (Message Too Big)"),
  handshakeTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(10_000)
    .describe("Time the upstream has to complete its WebSocket handshake; then the client gets 504"),
});

export type RouteWebSocketConfig = z.output<typeof RouteWebSocketConfig>;

interface ProtocolRoutes {
  routes: { websocket?: RouteWebSocketConfig | undefined; grpc?: unknown }[];
}

/** A gRPC route's targets speak HTTP/2 gRPC: a WebSocket upgrade has nowhere to go there. */
export function checkRouteWebSocket(config: ProtocolRoutes, ctx: z.RefinementCtx<ProtocolRoutes>): void {
  config.routes.forEach((route, index) => {
    if (route.websocket?.enabled === true && route.grpc !== undefined) {
      ctx.addIssue({ code: "custom", path: ["routes", index, "websocket"], message: "websocket cannot be enabled on a grpc route: its targets are gRPC servers" });
    }
  });
}
