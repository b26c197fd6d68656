import type { z } from "zod";
import { ConfigError } from "./config-error.js";
import { formatIssuePath } from "./format-issue-path.js";

/**
 * Validates raw configuration against a service's schema. Every issue is reported,
 * not only the first one, each with the path where it sits in the file.
 */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, source = "(inline)"): z.output<S> {
  const result = schema.safeParse(raw ?? {});
  if (result.success) return result.data;
  throw new ConfigError(source, formatIssues(result.error.issues));
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  const problems: string[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) problems.push(`${formatIssuePath([...path, key])}: unknown field`);
    } else if (issue.code === "invalid_key") {
      const reasons = issue.issues.map((inner) => inner.message).join("; ");
      problems.push(`${formatIssuePath(path)}: invalid name: ${reasons}`);
    } else if (issue.code === "invalid_union") {
      problems.push(...formatUnionIssue(issue, path));
    } else {
      problems.push(`${formatIssuePath(path)}: ${issue.message}`);
    }
  }
  return problems;
}

/**
 * A union fails when every alternative does. When exactly one alternative got past
 * its type check (its issues are inside the value, not about the value's type),
 * that is the one the author meant, and its issues are the useful ones.
 */
function formatUnionIssue(issue: z.core.$ZodIssueInvalidUnion, path: readonly PropertyKey[]): string[] {
  const meant = issue.errors.filter((alternative) => !alternative.some((inner) => inner.code === "invalid_type" && inner.path.length === 0));
  if (meant.length === 1) return formatIssues(meant[0] as z.core.$ZodIssue[], path);
  return [`${formatIssuePath(path)}: ${issue.message}`];
}
