import { parseArgs } from "node:util";
import { loadServiceConfig } from "@tollgate/config";
import { createLogger, createMetricsRegistry, createStatusServer, exitOnShutdownSignals } from "@tollgate/observability";
import { AnalyticsProjectorConfig } from "./analytics-projector-config.js";
import { analyticsStoreOf, rebuildAnalyticsProjection, startAnalyticsProjector } from "./analytics-projector-service.js";

const usage =
  "usage: node services/analytics-projector/dist/main.js --config <file.yaml|file.json> [--migrate | --rebuild]\n" +
  "  (or TOLLGATE_ANALYTICS_PROJECTOR_CONFIG=<file>; TOLLGATE_ANALYTICS_PROJECTOR__<PATH>=value overrides a field; CLICKHOUSE_URL selects ClickHouse)\n" +
  "  --migrate  apply pending schema migrations (infra/clickhouse/migrations on ClickHouse), print them and exit\n" +
  "  --rebuild  replay the log from position 0 into fresh tables, switch them in, print a summary and exit (stop the projector first)";

/**
 * The analytics projector process. Startup: config (refused with every problem listed),
 * migrations, the log, the runner, then the status port; it logs {"msg":"listening",...}
 * once /metrics answers. SIGTERM/SIGINT: the runner stops (the batch in flight is
 * written with its checkpoint) and the process exits 0. A second signal exits at once.
 */
async function main(): Promise<number | null> {
  const { values } = parseArgs({
    options: { config: { type: "string", short: "c" }, migrate: { type: "boolean", default: false }, rebuild: { type: "boolean", default: false } },
    strict: true,
  });
  const path = values.config ?? process.env.TOLLGATE_ANALYTICS_PROJECTOR_CONFIG;
  const loaded = await loadServiceConfig(path, AnalyticsProjectorConfig, { envPrefix: "TOLLGATE_ANALYTICS_PROJECTOR__", usage });
  if ("exitCode" in loaded) return loaded.exitCode;
  const { config } = loaded;
  const logger = createLogger({ name: "analytics-projector", level: config.logLevel });

  if (values.migrate) {
    const store = analyticsStoreOf(config, process.env);
    try {
      logger.info({ engine: store.engine, applied: await store.migrate() }, "migrated");
    } finally {
      await store.close();
    }
    return 0;
  }
  if (values.rebuild) {
    const started = performance.now();
    const summary = await rebuildAnalyticsProjection(config, { logger });
    logger.info({ ...summary, durationMs: Math.round(performance.now() - started) }, "rebuilt");
    return 0;
  }

  const registry = createMetricsRegistry({ labels: { service: "analytics-projector" } });
  const projector = await startAnalyticsProjector(config, { logger, registry });
  const status = createStatusServer({ host: config.status.host, port: config.status.port, registry, ready: () => projector.ready() });

  exitOnShutdownSignals(logger, async () => {
    await projector.close();
    await status.close();
  });

  const address = await status.listen();
  logger.info(
    {
      projector: config.name,
      engine: projector.store.engine,
      statusPort: address.port,
      metricsUrl: `http://${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}/metrics`,
      checkpoint: String(await projector.store.loadCheckpoint(config.name)),
    },
    "listening",
  );
  return null;
}

main().then(
  (code) => {
    if (code !== null) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`analytics projector failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
