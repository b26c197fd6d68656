import { parseArgs } from "node:util";
import { loadServiceConfig } from "@tollgate/config";
import { createLogger, createMetricsRegistry, createStatusServer, exitOnShutdownSignals } from "@tollgate/observability";
import { QuotaProjectorConfig } from "./quota-projector-config.js";
import { rebuildQuotaProjection, startQuotaProjector } from "./quota-projector-service.js";

const usage =
  "usage: node services/quota-projector/dist/main.js --config <file.yaml|file.json> [--rebuild]\n" +
  "  (or TOLLGATE_QUOTA_PROJECTOR_CONFIG=<file>; TOLLGATE_QUOTA_PROJECTOR__<PATH>=value overrides a field, e.g. __STORE__FILE)\n" +
  "  --rebuild  forget every count, replay the log from position 0, reconcile, print a summary and exit";

/**
 * The quota projector process. Startup: config (refused with every problem listed), the
 * log, the projection, Redis, the runner, then the status port; it logs
 * {"msg":"listening",...} once /metrics answers. SIGTERM/SIGINT: the runner stops (the
 * batch in flight commits), pending counters are reconciled for up to 2 s, and the
 * process exits 0. A second signal exits at once.
 */
async function main(): Promise<number | null> {
  const { values } = parseArgs({ options: { config: { type: "string", short: "c" }, rebuild: { type: "boolean", default: false } }, strict: true });
  const path = values.config ?? process.env.TOLLGATE_QUOTA_PROJECTOR_CONFIG;
  const loaded = await loadServiceConfig(path, QuotaProjectorConfig, { envPrefix: "TOLLGATE_QUOTA_PROJECTOR__", usage });
  if ("exitCode" in loaded) return loaded.exitCode;
  const { config } = loaded;
  const logger = createLogger({ name: "quota-projector", level: config.logLevel });

  if (values.rebuild) {
    const started = performance.now();
    const summary = await rebuildQuotaProjection(config, { logger });
    logger.info({ ...summary, durationMs: Math.round(performance.now() - started) }, "rebuilt");
    return 0;
  }

  const registry = createMetricsRegistry({ labels: { service: "quota-projector" } });
  const projector = await startQuotaProjector(config, { logger, registry });
  const status = createStatusServer({ host: config.status.host, port: config.status.port, registry, ready: () => projector.ready() });

  exitOnShutdownSignals(logger, async () => {
    await projector.close();
    await status.close();
  });

  const address = await status.listen();
  logger.info(
    {
      projector: config.name,
      statusPort: address.port,
      metricsUrl: `http://${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}/metrics`,
      store: config.store.file,
      redis: config.redis !== null,
      checkpoint: String(await projector.store.loadCheckpoint()),
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
    process.stderr.write(`quota projector failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
