import { GatewayConfig } from "@tollgate/gateway";
import { describe, expect, it } from "vitest";
import { benchGatewayConfig } from "./gateway-arm.js";
import { bareOverTargetsConfig, trafficHealthCheckIntervalMs, trafficLayerConfig } from "./traffic-layer-config.js";

const targets = [
  { url: "http://127.0.0.1:8081", weight: 1 },
  { url: "http://127.0.0.1:8082", weight: 2 },
  { url: "http://127.0.0.1:8083", weight: 3 },
];

// Parsed by the gateway's own schema, as the gateway parses the file the bench writes.
const parsed = (extra: Record<string, unknown> | null): GatewayConfig => GatewayConfig.parse(benchGatewayConfig("/tmp/x", targets[0]!.url, "/bench", extra));

describe("the traffic bench's gateway configs", () => {
  it("leaves the bare arm with one target, no breaker and no active health checks", () => {
    const config = parsed(null);
    const upstream = config.upstreams.bench!;
    expect(upstream.targets).toEqual([{ url: targets[0]!.url, weight: 1 }]);
    expect(upstream.circuitBreaker.enabled).toBe(false);
    expect(upstream.healthChecks.active).toBeUndefined();
    expect(upstream.balancing.algorithm).toBe("round-robin");
    expect(config.routes[0]!.retries.attempts).toBe(0);
    expect(config.routes[0]!.timeouts).toEqual({});
  });

  it("points the bare arm over three targets at all three, with nothing else of the layer", () => {
    const config = parsed(bareOverTargetsConfig(targets));
    const upstream = config.upstreams.bench!;
    expect(upstream.targets).toEqual(targets.map(({ url }) => ({ url, weight: 1 })));
    expect(upstream.balancing.algorithm).toBe("round-robin");
    expect(upstream.circuitBreaker.enabled).toBe(false);
    expect(upstream.healthChecks.active).toBeUndefined();
    expect(config.routes[0]!.retries.attempts).toBe(0);
    expect(config.routes[0]!.timeouts).toEqual({});
  });

  it("turns the whole layer on over three weighted targets", () => {
    const config = parsed(trafficLayerConfig(targets, "weighted-round-robin", "/bench"));
    const upstream = config.upstreams.bench!;
    expect(upstream.targets).toEqual(targets);
    expect(upstream.balancing.algorithm).toBe("weighted-round-robin");
    expect(upstream.healthChecks.active?.intervalMs).toBe(trafficHealthCheckIntervalMs);
    expect(upstream.healthChecks.passive.consecutiveFailures).toBeGreaterThan(0);
    expect(upstream.circuitBreaker.enabled).toBe(true);
    expect(upstream.connectTimeoutMs).toBe(2_000);
    expect(config.routes).toHaveLength(1);
    expect(config.routes[0]).toMatchObject({
      id: "bench",
      upstream: "bench",
      match: { pathPrefix: "/bench" },
      timeouts: { responseHeadersMs: 5_000, totalMs: 10_000 },
      retries: { attempts: 2, budgetRatio: 0.2 },
    });
  });

  it("hashes on the client IP for the consistent-hash arm", () => {
    const upstream = parsed(trafficLayerConfig(targets, "consistent-hash", "/bench")).upstreams.bench!;
    expect(upstream.balancing).toMatchObject({ algorithm: "consistent-hash", hashOn: "client-ip" });
    expect(upstream.circuitBreaker.enabled).toBe(true);
  });
});
