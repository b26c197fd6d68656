import { describe, expect, it } from "vitest";
import { GatewayConfig } from "../config/gateway-config.js";
import { thingsProto, thingsService } from "../grpc/test-support/things-server.js";

const base = { upstreams: { api: { targets: ["http://127.0.0.1:9000"] } } };

function issues(route: Record<string, unknown>): string[] {
  const result = GatewayConfig.safeParse({ ...base, routes: [{ id: "r", match: { pathPrefix: "/r" }, upstream: "api", ...route }] });
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

describe("routes[].websocket and routes[].graphql config", () => {
  it("fills every default", () => {
    const config = GatewayConfig.parse({ ...base, routes: [{ id: "r", match: { pathPrefix: "/r" }, upstream: "api", websocket: {}, graphql: {} }] });
    expect(config.routes[0]?.websocket).toEqual({ enabled: false, idleTimeoutMs: 60_000, maxLifetimeMs: 3_600_000, maxMessageBytes: 1_048_576, handshakeTimeoutMs: 10_000 });
    expect(config.routes[0]?.graphql).toEqual({ maxDepth: 10, maxAliases: 30, maxTokens: 10_000, maxBodyBytes: 1_048_576, blockIntrospection: false });
  });

  it("names each bad field by its path", () => {
    expect(issues({ websocket: { enabled: true, idleTimeoutMs: 10, maxMessageBytes: 0, extra: 1 } })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^routes\.0\.websocket\.idleTimeoutMs: /),
        expect.stringMatching(/^routes\.0\.websocket\.maxMessageBytes: /),
        expect.stringMatching(/^routes\.0\.websocket: .*extra/),
      ]),
    );
    expect(issues({ graphql: { maxDepth: 0, blockIntrospection: { plans: [] }, persistedQueries: { allowList: ["abc"] } } })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^routes\.0\.graphql\.maxDepth: /),
        expect.stringMatching(/^routes\.0\.graphql\.blockIntrospection/),
        "routes.0.graphql.persistedQueries.allowList.0: expected a lower-case hex SHA-256 digest (64 characters)",
      ]),
    );
  });

  it("refuses websocket on a grpc route", () => {
    expect(issues({ websocket: { enabled: true }, grpc: { protoFile: thingsProto, service: thingsService } })).toEqual([
      "routes.0.websocket: websocket cannot be enabled on a grpc route: its targets are gRPC servers",
    ]);
    expect(issues({ websocket: { enabled: false }, grpc: { protoFile: thingsProto, service: thingsService } })).toEqual([]);
  });
});
