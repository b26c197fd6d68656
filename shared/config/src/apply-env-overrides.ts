import { parse as parseYamlValue } from "yaml";

/**
 * Overrides file values with environment variables, for the few settings that differ
 * per deployment (ports, file paths) without editing the file.
 *
 * `<prefix>LISTEN__PORT=9090` sets `listen.port`: path segments are separated by a
 * double underscore, and each UPPER_SNAKE segment becomes camelCase
 * (`SHUTDOWN_GRACE_MS` → `shutdownGraceMs`). A numeric segment indexes an array.
 * Values are read as YAML scalars or flow collections, so `9090` is a number,
 * `true` a boolean and `[a, b]` a list; quote a value to keep it a string (`'"0123"'`).
 * Overrides are applied before validation, so a wrong override is reported like a
 * wrong file value, with its path.
 */
export function applyEnvOverrides(raw: unknown, env: Readonly<Record<string, string | undefined>>, prefix: string): unknown {
  const root: Record<string, unknown> = isRecord(raw) ? structuredClone(raw) : {};
  const names = Object.keys(env)
    .filter((name) => name.startsWith(prefix) && name.length > prefix.length)
    .sort();
  for (const name of names) {
    const value = env[name];
    if (value === undefined) continue;
    const path = name.slice(prefix.length).split("__").map(toCamelCase);
    setPath(root, path, parseYamlValue(value) as unknown);
  }
  return root;
}

function toCamelCase(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

function setPath(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node: Record<string, unknown> | unknown[] = root;
  for (let index = 0; index < path.length; index++) {
    const key = path[index] as string;
    const last = index === path.length - 1;
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      const slot = Number(key);
      if (last) {
        node[slot] = value;
        return;
      }
      if (!isRecord(node[slot]) && !Array.isArray(node[slot])) node[slot] = {};
      node = node[slot] as Record<string, unknown> | unknown[];
    } else {
      const record = node as Record<string, unknown>;
      if (last) {
        record[key] = value;
        return;
      }
      if (!isRecord(record[key]) && !Array.isArray(record[key])) record[key] = {};
      node = record[key] as Record<string, unknown> | unknown[];
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
