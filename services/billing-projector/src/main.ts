import { parseArgs } from "node:util";
import { loadServiceConfig } from "@tollgate/config";
import { createLogger, createMetricsRegistry, createStatusServer, exitOnShutdownSignals } from "@tollgate/observability";
import { BillingProjectorConfig } from "./billing-projector-config.js";
import { startBillingProjector } from "./billing-projector-service.js";

const usage =
  "usage: node services/billing-projector/dist/main.js --config <file.yaml|file.json>\n" +
  "  (or TOLLGATE_BILLING_PROJECTOR_CONFIG=<file>; TOLLGATE_BILLING_PROJECTOR__<PATH>=value overrides a field, e.g. __STORE__FILE)\n" +
  "  STRIPE_SECRET_KEY: the Stripe key, unless the config names one; without a key usage stays pending";

/**
 * The billing projector process. Startup: config (refused with every problem listed), the
 * log, the store, the reporter (when there is a Stripe key), the runner, then the status
 * port; it logs {"msg":"listening",...} once /metrics answers. SIGTERM/SIGINT: the runner
 * stops (the batch in flight commits), the reporter finishes the send in flight, and the
 * process exits 0. A second signal exits at once.
 */
async function main(): Promise<number | null> {
  const { values } = parseArgs({ options: { config: { type: "string", short: "c" } }, strict: true });
  const path = values.config ?? process.env.TOLLGATE_BILLING_PROJECTOR_CONFIG;
  const loaded = await loadServiceConfig(path, BillingProjectorConfig, { envPrefix: "TOLLGATE_BILLING_PROJECTOR__", usage });
  if ("exitCode" in loaded) return loaded.exitCode;
  const { config } = loaded;
  const logger = createLogger({ name: "billing-projector", level: config.logLevel });
  const envKey = process.env.STRIPE_SECRET_KEY;
  const secretKey = config.stripe.secretKey ?? (envKey === undefined || envKey === "" ? null : envKey);

  const registry = createMetricsRegistry({ labels: { service: "billing-projector" } });
  const projector = await startBillingProjector(config, { logger, registry, secretKey });
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
      stripe: projector.reporter === null ? "no key: usage stays pending" : (config.stripe.host ?? "api.stripe.com"),
      stripeSync: projector.stripeSync === null ? "off" : "on",
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
    process.stderr.write(`billing projector failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
