/**
 * google.api.http path templates (google/api/http.proto):
 *
 *   Template = "/" Segments [ Verb ] ;   Segments = Segment { "/" Segment } ;
 *   Segment  = "*" | "**" | LITERAL | Variable ;
 *   Variable = "{" FieldPath [ "=" Segments ] "}" ;   Verb = ":" LITERAL ;
 *
 * `{id}` is `{id=*}`: one path segment. `**` matches the rest of the path and may only
 * come last. Matching works on a normalized path (normalize-path.ts) and returns the
 * value of every variable, percent-decoded, keyed by its field path ("owner.name").
 */

type Item = { kind: "literal"; value: string } | { kind: "any" } | { kind: "rest" };

interface Variable {
  readonly fieldPath: readonly string[];
  /** Items [start, end) of the template that the variable covers. */
  readonly start: number;
  readonly end: number;
}

export interface CompiledPathTemplate {
  readonly source: string;
  readonly items: readonly Item[];
  readonly variables: readonly Variable[];
  readonly verb: string | null;
  /** Literal segments: a more specific template is tried first. */
  readonly literals: number;
}

export class PathTemplateError extends Error {
  override readonly name = "PathTemplateError";
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
const literal = /^[A-Za-z0-9._~!$&'()+,;=@%-]+$/;

export function compilePathTemplate(source: string): CompiledPathTemplate {
  if (!source.startsWith("/")) throw new PathTemplateError(`path template "${source}" must start with "/"`);
  let body = source.slice(1);
  let verb: string | null = null;
  const lastSlash = body.lastIndexOf("/");
  const verbAt = body.indexOf(":", lastSlash + 1);
  if (verbAt !== -1 && !body.slice(verbAt).includes("}")) {
    verb = body.slice(verbAt + 1);
    body = body.slice(0, verbAt);
    if (!literal.test(verb)) throw new PathTemplateError(`path template "${source}": invalid verb ":${verb}"`);
  }
  const items: Item[] = [];
  const variables: Variable[] = [];
  let at = 0;
  while (body.length > 0 && at <= body.length) {
    if (body[at] === "{") {
      const close = body.indexOf("}", at);
      if (close === -1) throw new PathTemplateError(`path template "${source}": unclosed "{"`);
      const inner = body.slice(at + 1, close);
      const equals = inner.indexOf("=");
      const fieldPath = (equals === -1 ? inner : inner.slice(0, equals)).split(".");
      if (!fieldPath.every((part) => identifier.test(part))) {
        throw new PathTemplateError(`path template "${source}": invalid field path "${fieldPath.join(".")}"`);
      }
      if (variables.some((variable) => variable.fieldPath.join(".") === fieldPath.join("."))) {
        throw new PathTemplateError(`path template "${source}": field "${fieldPath.join(".")}" bound twice`);
      }
      const start = items.length;
      const segments = equals === -1 ? ["*"] : inner.slice(equals + 1).split("/");
      for (const segment of segments) items.push(plainItem(source, segment));
      variables.push({ fieldPath, start, end: items.length });
      at = close + 1;
    } else {
      const slash = body.indexOf("/", at);
      const end = slash === -1 ? body.length : slash;
      items.push(plainItem(source, body.slice(at, end)));
      at = end;
    }
    if (at >= body.length) break;
    if (body[at] !== "/") throw new PathTemplateError(`path template "${source}": expected "/" at "${body.slice(at)}"`);
    at += 1;
  }
  const restAt = items.findIndex((item) => item.kind === "rest");
  if (restAt !== -1 && restAt !== items.length - 1) throw new PathTemplateError(`path template "${source}": "**" may only be the last segment`);
  return { source, items, variables, verb, literals: items.filter((item) => item.kind === "literal").length };
}

function plainItem(source: string, segment: string): Item {
  if (segment === "*") return { kind: "any" };
  if (segment === "**") return { kind: "rest" };
  if (!literal.test(segment)) throw new PathTemplateError(`path template "${source}": invalid segment "${segment}"`);
  return { kind: "literal", value: segment };
}

/** The variables' values when `path` matches the template, else null. */
export function matchPathTemplate(template: CompiledPathTemplate, path: string): Map<string, string> | null {
  let rest = path.startsWith("/") ? path.slice(1) : path;
  if (template.verb !== null) {
    const suffix = `:${template.verb}`;
    if (!rest.endsWith(suffix)) return null;
    rest = rest.slice(0, -suffix.length);
  }
  const segments = rest.length === 0 ? [] : rest.split("/");
  const { items } = template;
  // Where each item's match ends in `segments`; "**" takes everything that is left.
  const ends: number[] = [];
  let index = 0;
  for (const item of items) {
    if (item.kind === "rest") {
      index = segments.length;
    } else {
      const segment = segments[index];
      if (segment === undefined || segment.length === 0) return null;
      if (item.kind === "literal" && segment !== item.value) return null;
      index += 1;
    }
    ends.push(index);
  }
  if (index !== segments.length) return null;
  const values = new Map<string, string>();
  for (const variable of template.variables) {
    const from = variable.start === 0 ? 0 : (ends[variable.start - 1] as number);
    const to = ends[variable.end - 1] as number;
    let value: string;
    try {
      // A single-segment variable decodes everything, "%2F" included; a multi-segment
      // one keeps its slashes as path separators (the spec's reserved expansion).
      value = segments
        .slice(from, to)
        .map((segment) => decodeURIComponent(segment))
        .join("/");
    } catch {
      return null;
    }
    values.set(variable.fieldPath.join("."), value);
  }
  return values;
}
