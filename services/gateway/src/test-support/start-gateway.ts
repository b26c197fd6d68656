import { parseConfig } from "@tollgate/config";
import type { GatewayEvent } from "@tollgate/events";
import { createMetricsRegistry } from "@tollgate/observability";
import type { Registry } from "prom-client";
import type { Clock, IdGenerator } from "../clock.js";
import { GatewayConfig, type GatewayConfigInput } from "../config/gateway-config.js";
import type { IdentityIndex } from "../identity/identity-index.js";
import { Readiness } from "../readiness.js";
import { createGatewayServer, type GatewayServer } from "../server.js";
import { captureLogger, sequentialIds, stepClock, type CapturedLogger } from "./fakes.js";
import { RecorderProbe } from "./recorder-probe.js";

export interface TestGateway {
  readonly gateway: GatewayServer;
  readonly port: number;
  readonly url: string;
  readonly config: GatewayConfig;
  readonly recorder: RecorderProbe;
  readonly registry: Registry;
  readonly readiness: Readiness;
  readonly log: CapturedLogger;
  readonly clock: Clock;
  /** The gateway's own events (circuit breaker state changes), in order. */
  readonly gatewayEvents: GatewayEvent[];
  close(): Promise<void>;
}

export interface StartGatewayOptions {
  config?: Partial<GatewayConfigInput>;
  clock?: Clock;
  ids?: IdGenerator;
  /** The control plane's state as the gateway sees it; needed by routes with auth. */
  identity?: IdentityIndex;
}

/** A gateway on 127.0.0.1 and an ephemeral port, with injected clock and ids and an in-memory recorder. */
export async function startGateway(options: StartGatewayOptions = {}): Promise<TestGateway> {
  const config = parseConfig(
    GatewayConfig,
    {
      gatewayId: "gw-test",
      listen: { host: "127.0.0.1", port: 0 },
      status: { host: "127.0.0.1", port: 0 },
      ...options.config,
    },
    "test config",
  );
  const recorder = new RecorderProbe();
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const readiness = new Readiness();
  const log = captureLogger();
  const clock = options.clock ?? stepClock();
  const gatewayEvents: GatewayEvent[] = [];
  const gateway = await createGatewayServer({
    onGatewayEvent: (event) => gatewayEvents.push(event),
    config,
    recorder,
    logger: log.logger,
    registry,
    readiness,
    clock,
    ids: options.ids ?? sequentialIds(),
    ...(options.identity ? { identity: options.identity } : {}),
  });
  const address = await gateway.listen();
  return {
    gateway,
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    config,
    recorder,
    registry,
    readiness,
    log,
    clock,
    gatewayEvents,
    close: () => gateway.shutdown(1_000),
  };
}

/** Config for one upstream named "demo" and one route "/demo" to it. */
export function demoRoute(origin: string, extra: Partial<GatewayConfigInput> = {}): Partial<GatewayConfigInput> {
  return {
    upstreams: { demo: { targets: [origin] } },
    routes: [{ id: "demo", match: { pathPrefix: "/demo" }, upstream: "demo" }],
    ...extra,
  };
}
