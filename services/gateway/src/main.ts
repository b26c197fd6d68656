import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import { getHeapStatistics } from "node:v8";
import { ConfigError } from "@tollgate/config";
import { streams } from "@tollgate/events";
import { openEventStore } from "@tollgate/eventstore";
import { createLogger, createMetricsRegistry } from "@tollgate/observability";
import { loadGatewayConfig } from "./config/load-gateway-config.js";
import { ControlPlaneFollower } from "./identity/control-plane-follower.js";
import { IdentityIndex } from "./identity/identity-index.js";
import { Readiness } from "./readiness.js";
import { createEventRecorder } from "./recorder/create-event-recorder.js";
import { GatewayEventLog } from "./recorder/gateway-event-log.js";
import { createGatewayServer, type GatewayServer } from "./server.js";
import { createStatusServer } from "./status-server.js";

const usage = "usage: node services/gateway/dist/main.js --config <file.yaml|file.json>  (or TOLLGATE_GATEWAY_CONFIG=<file>)";

/**
 * The gateway process. Startup order: config (refused with every problem listed),
 * recorder, status server, the control-plane follower (its own store connection)
 * catching up with the log, then the gateway's listener. If catching up takes longer
 * than identity.startupWaitMs the listener opens anyway: /readyz stays 503 (gate
 * "control-plane") and routes with auth answer 503 until the follower has caught up.
 * Shutdown order on SIGTERM/SIGINT is the reverse and is what makes a graceful stop
 * lose no event: readiness closes, in-flight requests finish and hand their events to
 * the recorder, the follower stops, the recorder flushes the events to the store (or
 * the spool), and only then does the process exit. A second signal during shutdown
 * exits at once.
 */
/** Resolves with an exit code when the process should end now, or null once it is serving. */
async function main(): Promise<number | null> {
  const { values } = parseArgs({ options: { config: { type: "string", short: "c" } }, strict: true });
  const path = values.config ?? process.env.TOLLGATE_GATEWAY_CONFIG;
  if (path === undefined || path === "") {
    process.stderr.write(`${usage}\n`);
    return 2;
  }

  let config;
  try {
    config = await loadGatewayConfig(path, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }

  const logger = createLogger({ name: "gateway", level: config.logLevel });
  const recorder = await createEventRecorder({
    store: config.eventStore,
    streamId: streams.requests(config.gatewayId),
    recorder: config.recorder,
    logger,
  });
  const registry = createMetricsRegistry();
  const readiness = new Readiness();
  // The status server first: /healthz answers, and /readyz says what is still loading.
  // The gateway server comes later; /upstreams reads it once it exists.
  const upstreams: { health?: () => unknown } = {};
  const cache: { purge?: GatewayServer["purgeCache"] } = {};
  const status = createStatusServer({
    host: config.status.host,
    port: config.status.port,
    registry,
    readiness,
    upstreams: () => upstreams.health?.() ?? {},
    cachePurge: { token: config.cache.adminToken, purge: (filter) => cache.purge?.(filter) ?? Promise.resolve(0) },
  });
  const statusAddress = await status.listen();

  // A connection of its own: the recorder's lives in its worker thread, and reading the
  // control categories must never wait behind a batch of request events.
  const controlStore = await openEventStore(config.eventStore);
  const identity = new IdentityIndex();
  const follower = new ControlPlaneFollower({ store: controlStore.store, index: identity, logger, pollIntervalMs: config.identity.pollIntervalMs });
  readiness.set("control-plane", false, "catching up with the control plane");
  const caughtUp = follower.start().then(
    () => {
      readiness.set("control-plane", true, `following the control plane (version ${identity.version})`);
      return true;
    },
    (error: unknown) => {
      logger.debug({ err: error }, "the control-plane follower stopped before it caught up");
      return false;
    },
  );
  // The server is built once the index has caught up (or the wait ran out): requests on
  // auth routes then find the whole state instead of a 503. It also keeps the burst of
  // catching up before the server exists: measured with 10,000 keys, the same catch-up
  // run after the server was built left V8 promoting whole request object graphs out of
  // the young generation, about 20% more CPU per request for as long as the process ran.
  const waitOver = new AbortController();
  const inTime = await Promise.race([caughtUp, delay(config.identity.startupWaitMs, false, { signal: waitOver.signal }).catch(() => false)]);
  waitOver.abort();
  if (!inTime) logger.warn({ waitedMs: config.identity.startupWaitMs }, "listening before the control plane's state is loaded; routes with auth answer 503 until it is");

  // The gateway's own events (circuit breakers changing state) go on its own stream,
  // through the main thread's connection: they are rare.
  const gatewayEvents = new GatewayEventLog({ store: controlStore.store, streamId: streams.gateway(config.gatewayId), logger });
  const gateway = await createGatewayServer({ config, recorder, logger, registry, readiness, identity, onGatewayEvent: (event) => gatewayEvents.record(event) });
  upstreams.health = () => gateway.upstreamHealth();
  cache.purge = (filter) => gateway.purgeCache(filter);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, "second signal during shutdown; exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, inFlight: gateway.inFlight, graceMs: config.shutdownGraceMs }, "shutting down");
    void (async () => {
      await gateway.shutdown(config.shutdownGraceMs);
      await follower.stop();
      await gatewayEvents.close();
      await controlStore.store.close();
      await recorder.close();
      await status.close();
      logger.info("stopped");
      process.exit(0);
    })().catch((error: unknown) => {
      logger.fatal({ err: error }, "shutdown failed");
      process.exit(1);
    });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);

  const address = await gateway.listen();
  const host = address.address === "0.0.0.0" || address.address === "::" ? "127.0.0.1" : address.address;
  const statusHost = statusAddress.address === "0.0.0.0" || statusAddress.address === "::" ? "127.0.0.1" : statusAddress.address;
  logger.info(
    {
      gatewayId: config.gatewayId,
      port: address.port,
      statusPort: statusAddress.port,
      url: `http://${formatHost(host)}:${address.port}/`,
      statusUrl: `http://${formatHost(statusHost)}:${statusAddress.port}/readyz`,
      routes: config.routes.length,
      upstreams: Object.keys(config.upstreams).length,
      // Started without gatewayNodeOptions, the heap limit is a quarter of the machine's
      // memory and the RSS under load is about 70 MB higher (node-options.ts).
      heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 1_048_576),
    },
    "listening",
  );
  return null;
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

main().then(
  (code) => {
    if (code !== null) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`gateway failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
