import type { z } from "zod";
import { ConfigError } from "./config-error.js";
import { loadConfigFile } from "./load-config-file.js";

export type ServiceConfigResult<T> = { config: T } | { exitCode: number };

/**
 * The config step of a service's `main`: the file from `--config` (or the service's
 * `…_CONFIG` variable), with `<envPrefix>…` overrides, validated. Without a path it writes
 * `usage` and answers exit code 2; a bad file writes every problem with its path and
 * answers 1. Other errors propagate.
 */
export async function loadServiceConfig<S extends z.ZodType>(
  path: string | undefined,
  schema: S,
  options: { envPrefix: string; usage: string; env?: Readonly<Record<string, string | undefined>>; stderr?: { write(text: string): unknown } },
): Promise<ServiceConfigResult<z.output<S>>> {
  const stderr = options.stderr ?? process.stderr;
  if (path === undefined || path === "") {
    stderr.write(`${options.usage}\n`);
    return { exitCode: 2 };
  }
  try {
    return { config: await loadConfigFile(path, schema, { env: options.env ?? process.env, envPrefix: options.envPrefix }) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    stderr.write(`${error.message}\n`);
    return { exitCode: 1 };
  }
}
