import { loadConfigFile } from "@tollgate/config";
import { GatewayConfig } from "./gateway-config.js";

/** Environment variables with this prefix override file values; see docs/gateway.md. */
export const gatewayEnvPrefix = "TOLLGATE_GATEWAY__";

/** Reads, overrides from the environment and validates the gateway's config file. Throws ConfigError. */
export function loadGatewayConfig(path: string, env: Readonly<Record<string, string | undefined>> = {}): Promise<GatewayConfig> {
  return loadConfigFile(path, GatewayConfig, { env: withRedisUrl(env), envPrefix: gatewayEnvPrefix });
}

/**
 * REDIS_URL, the conventional variable, puts the rate limit and quota counters in that
 * Redis, shared by every gateway started with it. It overrides the file's `store`, as
 * every environment override does, unless a `TOLLGATE_GATEWAY__…__STORE__…` variable
 * says otherwise. The value is quoted so that YAML reads it as a string.
 */
export function withRedisUrl(env: Readonly<Record<string, string | undefined>>): Readonly<Record<string, string | undefined>> {
  const url = env.REDIS_URL;
  if (url === undefined || url === "") return env;
  const derived: Record<string, string> = {};
  for (const policy of ["RATE_LIMIT", "QUOTA"]) {
    const prefix = `${gatewayEnvPrefix}${policy}__STORE__`;
    if (Object.keys(env).some((name) => name.startsWith(prefix))) continue;
    derived[`${prefix}KIND`] = "redis";
    derived[`${prefix}URL`] = JSON.stringify(url);
  }
  return { ...env, ...derived };
}
