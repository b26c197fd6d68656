import { AnalyticsStoreConfig, withClickHouseUrl } from "@tollgate/analytics";
import { loadConfigFile } from "@tollgate/config";
import { ControlPlaneConfig } from "./control-plane-config.js";

/** Environment variables with this prefix override file values, e.g. `TOLLGATE_CONTROL_PLANE__LISTEN__PORT=9000`. */
export const controlPlaneEnvPrefix = "TOLLGATE_CONTROL_PLANE__";

/** Reads, overrides from the environment and validates the control plane's config file. Throws ConfigError. */
export async function loadControlPlaneConfig(path: string, env: Readonly<Record<string, string | undefined>> = {}): Promise<ControlPlaneConfig> {
  const config = await loadConfigFile(path, ControlPlaneConfig, { env, envPrefix: controlPlaneEnvPrefix });
  // CLICKHOUSE_URL points analytics at ClickHouse, as it does for the analytics projector.
  if (config.analytics === null && !env.CLICKHOUSE_URL) return config;
  return { ...config, analytics: withClickHouseUrl(config.analytics ?? AnalyticsStoreConfig.parse({}), env) };
}
