import protobuf from "protobufjs";
import { fieldByName } from "./json-mapping.js";
import { compilePathTemplate, PathTemplateError, type CompiledPathTemplate } from "./path-template.js";

/** One rpc as the transcoder calls it. */
export interface GrpcMethod {
  /** Fully qualified, without the leading dot: "tollgate.testing.v1.Things". */
  readonly service: string;
  readonly name: string;
  /** The HTTP/2 path of the call: "/tollgate.testing.v1.Things/GetThing". */
  readonly path: string;
  readonly requestType: protobuf.Type;
  readonly responseType: protobuf.Type;
  readonly serverStreaming: boolean;
}

/** One google.api.http rule of a method (its main pattern or one of its additional_bindings). */
export interface GrpcBinding {
  readonly httpMethod: string;
  readonly template: CompiledPathTemplate;
  readonly method: GrpcMethod;
  /** "*": the body is the request message; a field name: the body is that field; "": no body. */
  readonly body: string;
  /** The field `body` names, when it names one. */
  readonly bodyField: protobuf.Field | null;
  /** The response field that is the whole response body (response_body), or null. */
  readonly responseBodyField: protobuf.Field | null;
}

/** A problem with the service or one of its rules, at a path relative to the route's `grpc` object. */
export interface BindingProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

interface HttpRule {
  get?: string;
  put?: string;
  post?: string;
  delete?: string;
  patch?: string;
  custom?: { kind?: string; path?: string };
  body?: string;
  response_body?: string;
  additional_bindings?: HttpRule | HttpRule[];
}

const httpRuleOption = "(google.api.http)";
const patternKeys = ["get", "put", "post", "delete", "patch"] as const;

/**
 * The HTTP bindings of `service`'s methods (all of them, or those `methods` lists),
 * from their google.api.http options. Every problem is collected rather than thrown,
 * so that the config check lists all of them. Client- and bidirectional-streaming
 * methods cannot be transcoded from one HTTP request: refused when listed, left out
 * when every method is exposed.
 * Bindings come back most specific first (more literal segments), the order in which
 * a request is matched against them.
 */
export function compileGrpcBindings(
  root: protobuf.Root,
  serviceName: string,
  methods: readonly string[],
): { bindings: GrpcBinding[]; problems: BindingProblem[] } {
  const problems: BindingProblem[] = [];
  const bindings: GrpcBinding[] = [];
  let service: protobuf.Service;
  try {
    service = root.lookupService(serviceName);
  } catch {
    return { bindings, problems: [{ path: ["service"], message: `no service "${serviceName}" in the proto file or its imports` }] };
  }
  const fullName = service.fullName.replace(/^\./, "");
  methods.forEach((name, index) => {
    if (!Object.hasOwn(service.methods, name)) problems.push({ path: ["methods", index], message: `service "${fullName}" has no method "${name}"` });
  });
  const selected = methods.length === 0 ? service.methodsArray : service.methodsArray.filter((method) => methods.includes(method.name));
  for (const rpc of selected) {
    rpc.resolve();
    const at = methods.indexOf(rpc.name);
    const problemPath = at === -1 ? ["service"] : ["methods", at];
    const rules = httpRulesOf(rpc);
    if (rules.length === 0) {
      // Listing every method: the ones without an HTTP mapping are simply not exposed.
      if (methods.length > 0) problems.push({ path: problemPath, message: `method "${rpc.name}" has no google.api.http option` });
      continue;
    }
    if (rpc.requestStream === true) {
      // Exposing every method leaves these out, as it leaves out methods without a mapping.
      if (methods.length > 0) {
        problems.push({ path: problemPath, message: `method "${rpc.name}" is client- or bidirectional-streaming, which HTTP/JSON transcoding does not support` });
      }
      continue;
    }
    const method: GrpcMethod = {
      service: fullName,
      name: rpc.name,
      path: `/${fullName}/${rpc.name}`,
      requestType: rpc.resolvedRequestType as protobuf.Type,
      responseType: rpc.resolvedResponseType as protobuf.Type,
      serverStreaming: rpc.responseStream === true,
    };
    for (const rule of rules) {
      const binding = compileRule(method, rule);
      if (typeof binding === "string") problems.push({ path: problemPath, message: `method "${rpc.name}": ${binding}` });
      else bindings.push(binding);
    }
  }
  if (problems.length === 0 && bindings.length === 0) {
    problems.push({ path: ["service"], message: `no method of "${fullName}" has a google.api.http option, so the route would expose nothing` });
  }
  bindings.sort((a, b) => b.template.literals - a.template.literals || a.template.items.length - b.template.items.length);
  return { bindings, problems };
}

function httpRulesOf(rpc: protobuf.Method): HttpRule[] {
  const rules: HttpRule[] = [];
  for (const option of rpc.parsedOptions ?? []) {
    const rule = (option as Record<string, unknown>)[httpRuleOption] as HttpRule | undefined;
    if (rule === undefined) continue;
    rules.push(rule);
    const extra = rule.additional_bindings;
    if (extra !== undefined) rules.push(...(Array.isArray(extra) ? extra : [extra]));
  }
  return rules;
}

function compileRule(method: GrpcMethod, rule: HttpRule): GrpcBinding | string {
  let httpMethod: string | undefined;
  let pattern: string | undefined;
  for (const key of patternKeys) {
    if (typeof rule[key] === "string") {
      httpMethod = key.toUpperCase();
      pattern = rule[key];
    }
  }
  if (rule.custom !== undefined) {
    httpMethod = rule.custom.kind?.toUpperCase();
    pattern = rule.custom.path;
  }
  if (httpMethod === undefined || pattern === undefined) return "the google.api.http rule has no get, put, post, delete, patch or custom pattern";
  let template: CompiledPathTemplate;
  try {
    template = compilePathTemplate(pattern);
  } catch (error) {
    if (error instanceof PathTemplateError) return error.message;
    throw error;
  }
  for (const variable of template.variables) {
    const problem = pathFieldProblem(method.requestType, variable.fieldPath);
    if (problem !== null) return `path template "${pattern}": ${problem}`;
  }
  const body = rule.body ?? "";
  let bodyField: protobuf.Field | null = null;
  if (body !== "" && body !== "*") {
    bodyField = fieldByName(method.requestType, body) ?? null;
    if (bodyField === null) return `body "${body}" is not a field of ${method.requestType.name}`;
  }
  let responseBodyField: protobuf.Field | null = null;
  if (rule.response_body !== undefined && rule.response_body !== "") {
    responseBodyField = fieldByName(method.responseType, rule.response_body) ?? null;
    if (responseBodyField === null) return `response_body "${rule.response_body}" is not a field of ${method.responseType.name}`;
  }
  return { httpMethod, template, method, body, bodyField, responseBodyField };
}

/** A path variable names a chain of singular message fields ending in a non-repeated field. */
function pathFieldProblem(type: protobuf.Type, fieldPath: readonly string[]): string | null {
  let current: protobuf.Type = type;
  for (let index = 0; index < fieldPath.length; index++) {
    const name = fieldPath[index] as string;
    const field = fieldByName(current, name);
    if (field === undefined) return `"${fieldPath.join(".")}" is not a field of ${type.name}`;
    if (field.repeated || field.map) return `"${fieldPath.join(".")}" is repeated, which a path variable cannot bind`;
    if (index < fieldPath.length - 1) {
      if (!(field.resolvedType instanceof protobuf.Type)) return `"${fieldPath.slice(0, index + 1).join(".")}" is not a message`;
      current = field.resolvedType;
    }
  }
  return null;
}
