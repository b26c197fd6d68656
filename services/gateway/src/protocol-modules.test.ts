import { describe, expect, it } from "vitest";
import { GatewayConfig } from "./config/gateway-config.js";
import { thingsProto, thingsService } from "./grpc/test-support/things-server.js";
import { loadProtocolModules } from "./protocol-modules.js";

const base = { gatewayId: "gw", upstreams: { api: { targets: ["http://127.0.0.1:1"] } } };

function configWith(route: Record<string, unknown>): GatewayConfig {
  return GatewayConfig.parse({ ...base, routes: [{ id: "plain", match: { pathPrefix: "/plain" }, upstream: "api" }, { id: "r", match: { pathPrefix: "/r" }, upstream: "api", ...route }] });
}

describe("loadProtocolModules", () => {
  it("loads no translator for routes that use none", async () => {
    expect(await loadProtocolModules(configWith({}))).toEqual({ grpc: null, websocket: null, graphql: null });
  });

  it("loads each translator a route uses, and only that one", async () => {
    const grpc = await loadProtocolModules(configWith({ grpc: { protoFile: thingsProto, service: thingsService } }));
    expect(typeof grpc.grpc?.compileGrpcRoute).toBe("function");
    expect(typeof grpc.grpc?.GrpcChannels).toBe("function");
    expect([grpc.websocket, grpc.graphql]).toEqual([null, null]);

    const websocket = await loadProtocolModules(configWith({ websocket: { enabled: true } }));
    expect(typeof websocket.websocket).toBe("function");
    expect([websocket.grpc, websocket.graphql]).toEqual([null, null]);

    const graphql = await loadProtocolModules(configWith({ graphql: {} }));
    expect(typeof graphql.graphql).toBe("function");
    expect([graphql.grpc, graphql.websocket]).toEqual([null, null]);
  });

  it("does not load the WebSocket proxy for a route whose websocket block is disabled", async () => {
    expect((await loadProtocolModules(configWith({ websocket: { enabled: false } }))).websocket).toBeNull();
  });
});
