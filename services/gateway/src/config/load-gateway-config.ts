import { loadConfigFile } from "@tollgate/config";
import { GatewayConfig } from "./gateway-config.js";

/** Environment variables with this prefix override file values; see docs/gateway.md. */
export const gatewayEnvPrefix = "TOLLGATE_GATEWAY__";

/** Reads, overrides from the environment and validates the gateway's config file. Throws ConfigError. */
export function loadGatewayConfig(path: string, env: Readonly<Record<string, string | undefined>> = {}): Promise<GatewayConfig> {
  return loadConfigFile(path, GatewayConfig, { env, envPrefix: gatewayEnvPrefix });
}
