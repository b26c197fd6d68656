import { parseArgs } from "node:util";
import { ConfigError } from "@tollgate/config";
import { createLogger, exitOnShutdownSignals } from "@tollgate/observability";
import { loadControlPlaneConfig } from "./config/load-control-plane-config.js";
import { startControlPlane } from "./start-control-plane.js";

const usage = "usage: node services/control-plane/dist/main.js --config <file.yaml|file.json>  (or TOLLGATE_CONTROL_PLANE_CONFIG=<file>)";

/**
 * The control-plane process. Startup: config (refused with every problem listed), the
 * log, the read model caught up, then the listener, announced with a `listening` line
 * that carries the port. SIGTERM/SIGINT: stop accepting, let in-flight requests finish
 * (every write they make is appended before they answer), stop the read models, close
 * the log, exit 0. A second signal exits at once.
 */
async function main(): Promise<number | null> {
  const { values } = parseArgs({ options: { config: { type: "string", short: "c" } }, strict: true });
  const path = values.config ?? process.env.TOLLGATE_CONTROL_PLANE_CONFIG;
  if (path === undefined || path === "") {
    process.stderr.write(`${usage}\n`);
    return 2;
  }

  let config;
  try {
    config = await loadControlPlaneConfig(path, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }

  const logger = createLogger({ name: "control-plane", level: config.logging.level });
  if (config.adminTokens.length === 0) logger.warn("no adminTokens configured: every /admin request will be refused");
  const running = await startControlPlane({ config, logger });

  exitOnShutdownSignals(logger, () => {
    logger.info({ graceMs: config.shutdownGraceMs }, "draining");
    return running.close();
  });

  const services = running.services;
  logger.info(
    {
      port: running.port,
      url: running.url,
      openApi: `${running.url}/openapi.json`,
      controlPlaneVersion: services.context.readModel.version.toString(),
      plans: services.context.readModel.plans.size,
      consumers: services.context.readModel.consumers.size,
      hmacSecrets: services.context.secretBox ? "enabled" : "disabled (no secretKeys)",
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
    process.stderr.write(`control plane failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
