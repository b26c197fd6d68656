import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { applyEnvOverrides } from "./apply-env-overrides.js";
import { ConfigError } from "./config-error.js";
import { locateJsonError } from "./locate-json-error.js";
import { parseConfig } from "./parse-config.js";

export interface LoadConfigOptions {
  /** Environment whose `<envPrefix>…` variables override file values. See applyEnvOverrides. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Prefix of the override variables, for example `TOLLGATE_GATEWAY__`. No overrides without it. */
  envPrefix?: string;
}

/**
 * Reads a YAML (.yaml, .yml) or JSON (.json) file, applies environment overrides and
 * validates the result. A missing file, a syntax error (with its line) and every
 * schema problem all surface as one ConfigError.
 */
export async function loadConfigFile<S extends z.ZodType>(
  path: string,
  schema: S,
  options: LoadConfigOptions = {},
): Promise<z.output<S>> {
  const text = await readConfigText(path);
  let raw = parseConfigText(path, text);
  if (options.env && options.envPrefix) raw = applyEnvOverrides(raw, options.env, options.envPrefix);
  return parseConfig(schema, raw, path);
}

async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory" : `cannot read file (${code ?? String(error)})`;
    throw new ConfigError(path, [`${path}: ${reason}`]);
  }
}

/** Exported for tests and for callers that hold the text already. */
export function parseConfigText(path: string, text: string): unknown {
  const extension = extname(path).toLowerCase();
  if (extension === ".json") return parseJson(path, text);
  if (extension === ".yaml" || extension === ".yml") return parseYaml(path, text);
  throw new ConfigError(path, [`${path}: unsupported extension "${extension}" (use .yaml, .yml or .json)`]);
}

function parseYaml(path: string, text: string): unknown {
  // yaml reports duplicate keys as errors by default, which a plain JSON.parse would
  // silently resolve to the last value.
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new ConfigError(
      path,
      document.errors.map((error) => {
        const at = error.linePos?.[0];
        const where = at ? `${path}:${at.line}:${at.col}` : path;
        return `${where}: ${firstLine(error.message).replace(/ at line \d+, column \d+:?$/, "")}`;
      }),
    );
  }
  return document.toJS() as unknown;
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const message = firstLine((error as Error).message);
    throw new ConfigError(path, [`${locateJsonErrorLine(path, text)}: invalid JSON: ${message}`]);
  }
}

function locateJsonErrorLine(path: string, text: string): string {
  const offset = locateJsonError(text);
  if (offset < 0) return path;
  const before = text.slice(0, offset);
  return `${path}:${before.split("\n").length}:${offset - before.lastIndexOf("\n")}`;
}

function firstLine(message: string): string {
  const newline = message.indexOf("\n");
  return newline === -1 ? message : message.slice(0, newline);
}
