import type { GatewayConfig } from "./config/gateway-config.js";
import type { GrpcChannels } from "./grpc/grpc-channels.js";
import type { compileGrpcRoute } from "./grpc/grpc-transcoder.js";
import type { createGraphqlStep } from "./policies/graphql/graphql-step.js";
import type { createWebSocketProxy } from "./websocket/websocket-proxy.js";

/**
 * The protocol translators a config may use: gRPC transcoding (@grpc/grpc-js and
 * protobufjs), WebSocket proxying (ws) and the GraphQL policy (graphql). Together they
 * cost the process about 20 MB of memory, so a gateway loads only those its routes use.
 */
export interface ProtocolModules {
  grpc: { GrpcChannels: typeof GrpcChannels; compileGrpcRoute: typeof compileGrpcRoute } | null;
  websocket: typeof createWebSocketProxy | null;
  graphql: typeof createGraphqlStep | null;
}

/** Loads the protocol modules the config's routes use, and no other. */
export async function loadProtocolModules(config: GatewayConfig): Promise<ProtocolModules> {
  const uses = (key: "grpc" | "websocket" | "graphql"): boolean =>
    config.routes.some((route) => (key === "websocket" ? route.websocket?.enabled === true : route[key] !== undefined));
  const [channels, transcoder, websocket, graphql] = await Promise.all([
    uses("grpc") ? import("./grpc/grpc-channels.js") : null,
    uses("grpc") ? import("./grpc/grpc-transcoder.js") : null,
    uses("websocket") ? import("./websocket/websocket-proxy.js") : null,
    uses("graphql") ? import("./policies/graphql/graphql-step.js") : null,
  ]);
  return {
    grpc: channels === null || transcoder === null ? null : { GrpcChannels: channels.GrpcChannels, compileGrpcRoute: transcoder.compileGrpcRoute },
    websocket: websocket?.createWebSocketProxy ?? null,
    graphql: graphql?.createGraphqlStep ?? null,
  };
}
