import type { HeaderRulesConfig } from "./header-rules-config.js";

export type HeaderRulesResult =
  | { ok: true }
  | {
      ok: false;
      /** 400 with the problem code `invalid-header`: the request itself is wrong, whoever sends it. */
      status: 400;
      /** Names the header, never its value (it may be a secret). */
      reason: string;
      /** The header at fault, lower-case. */
      header: string;
    };

export interface HeaderRules {
  readonly empty: boolean;
  /** `headers` as node:http gives them (lower-case names). Synchronous. */
  check(headers: Readonly<Record<string, string | string[] | undefined>>): HeaderRulesResult;
}

interface CompiledRequirement {
  name: string;
  pattern: RegExp | undefined;
}

/**
 * Required and forbidden request headers. Forbidden headers are checked first, so a
 * request carrying one is refused for it whatever else is missing. A required header
 * that is present but empty (or only whitespace) counts as missing. Patterns are
 * anchored (`^(?:…)$`) and must match every value of a repeated header.
 */
export function compileHeaderRules(config: HeaderRulesConfig): HeaderRules {
  const required: CompiledRequirement[] = config.required.map((rule) => ({
    name: rule.name,
    pattern: rule.pattern === undefined ? undefined : new RegExp(`^(?:${rule.pattern})$`, "u"),
  }));
  const forbidden = [...config.forbidden];
  const refuse = (header: string, reason: string): HeaderRulesResult => ({ ok: false, status: 400, reason, header });

  return {
    empty: required.length === 0 && forbidden.length === 0,
    check(headers) {
      for (const name of forbidden) if (headers[name] !== undefined) return refuse(name, `header ${name} is not allowed`);
      for (const { name, pattern } of required) {
        const value = headers[name];
        const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
        if (values.length === 0 || values.every((entry) => entry.trim() === "")) return refuse(name, `header ${name} is required`);
        if (pattern !== undefined && !values.every((entry) => pattern.test(entry.trim()))) return refuse(name, `header ${name} has a value that is not allowed`);
      }
      return { ok: true };
    },
  };
}
