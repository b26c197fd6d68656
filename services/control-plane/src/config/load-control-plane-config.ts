import { loadConfigFile } from "@tollgate/config";
import { ControlPlaneConfig } from "./control-plane-config.js";

/** Environment variables with this prefix override file values, e.g. `TOLLGATE_CONTROL_PLANE__LISTEN__PORT=9000`. */
export const controlPlaneEnvPrefix = "TOLLGATE_CONTROL_PLANE__";

/** Reads, overrides from the environment and validates the control plane's config file. Throws ConfigError. */
export function loadControlPlaneConfig(path: string, env: Readonly<Record<string, string | undefined>> = {}): Promise<ControlPlaneConfig> {
  return loadConfigFile(path, ControlPlaneConfig, { env, envPrefix: controlPlaneEnvPrefix });
}
