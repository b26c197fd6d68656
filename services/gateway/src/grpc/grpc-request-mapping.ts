import protobuf from "protobufjs";
import type { GrpcBinding } from "./grpc-bindings.js";
import { fieldByName, jsonNameOf, jsonToMessage, JsonMappingError } from "./json-mapping.js";

type JsonObject = Record<string, unknown>;

/**
 * The request message of an HTTP request, the google.api.http way: the body is the
 * whole message (body "*"), one field of it (body "<field>") or nothing; each path
 * variable sets the field it names, over what the body said; and, unless the body is
 * the whole message, each query parameter sets the field its name gives ("tags=a&tags=b"
 * for a repeated field, "owner.name=x" for a nested one). An unknown query parameter is
 * refused, like an unknown JSON field: a misspelt filter must not be silently ignored.
 * Throws JsonMappingError (a 400) for anything that does not fit the message.
 */
export function buildRequestMessage(binding: GrpcBinding, pathValues: ReadonlyMap<string, string>, query: string, body: Buffer | null): Uint8Array {
  const type = binding.method.requestType;
  let json: JsonObject = {};
  if (binding.body !== "") {
    const parsed = parseBody(body);
    if (binding.body === "*") {
      if (parsed !== undefined) {
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new JsonMappingError("the request body must be a JSON object");
        json = parsed as JsonObject;
      }
    } else if (parsed !== undefined) {
      json[(binding.bodyField as protobuf.Field).name] = parsed;
    }
  }
  const bound = new Set<string>();
  for (const [fieldPath, value] of pathValues) {
    assign(type, json, fieldPath.split("."), value, false, `path variable "${fieldPath}"`);
    bound.add(fieldPath);
  }
  if (binding.body !== "*" && query.length > 1) {
    for (const [name, value] of new URLSearchParams(query.slice(1))) {
      if (bound.has(name)) continue;
      if (binding.bodyField !== null && name.split(".")[0] !== undefined && fieldByName(type, name.split(".")[0] as string) === binding.bodyField) {
        throw new JsonMappingError(`query parameter "${name}": the field is bound to the request body`);
      }
      assign(type, json, name.split("."), value, true, `query parameter "${name}"`);
    }
  }
  return type.encode(jsonToMessage(type, json)).finish();
}

function parseBody(body: Buffer | null): unknown {
  if (body === null || body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString("utf8")) as unknown;
  } catch (error) {
    throw new JsonMappingError(`the request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Sets the field at `fieldPath` (JSON or proto names) in the JSON object, from the text of a path or query parameter. */
function assign(type: protobuf.Type, json: JsonObject, fieldPath: readonly string[], text: string, append: boolean, what: string): void {
  let current = type;
  let target = json;
  for (let index = 0; index < fieldPath.length; index++) {
    const field = fieldByName(current, fieldPath[index] as string);
    if (field === undefined) throw new JsonMappingError(`${what}: no field "${fieldPath.slice(0, index + 1).join(".")}" in ${type.name}`);
    const existingKey = [field.name, jsonNameOf(field)].find((key) => Object.hasOwn(target, key));
    if (index === fieldPath.length - 1) {
      const value = textToJson(field, text, what);
      if (field.repeated && !field.map) {
        const list = existingKey !== undefined && append && Array.isArray(target[existingKey]) ? (target[existingKey] as unknown[]) : [];
        list.push(value);
        setKey(target, field, list);
      } else {
        setKey(target, field, value);
      }
      return;
    }
    if (!(field.resolvedType instanceof protobuf.Type) || field.repeated) throw new JsonMappingError(`${what}: "${field.name}" is not a singular message field`);
    const existing = existingKey === undefined ? undefined : target[existingKey];
    const child: JsonObject = typeof existing === "object" && existing !== null && !Array.isArray(existing) ? (existing as JsonObject) : {};
    setKey(target, field, child);
    target = child;
    current = field.resolvedType;
  }
}

/** One key per field, the proto name: the JSON name a body may have used is replaced. */
function setKey(target: JsonObject, field: protobuf.Field, value: unknown): void {
  const jsonName = jsonNameOf(field);
  if (jsonName !== field.name) delete target[jsonName];
  target[field.name] = value;
}

const wrapped: Record<string, string> = {
  ".google.protobuf.BoolValue": "bool",
  ".google.protobuf.StringValue": "string",
  ".google.protobuf.BytesValue": "string",
  ".google.protobuf.DoubleValue": "number",
  ".google.protobuf.FloatValue": "number",
  ".google.protobuf.Int32Value": "number",
  ".google.protobuf.UInt32Value": "number",
  ".google.protobuf.Int64Value": "number",
  ".google.protobuf.UInt64Value": "number",
  ".google.protobuf.Timestamp": "string",
  ".google.protobuf.Duration": "string",
  ".google.protobuf.FieldMask": "string",
};

/**
 * A parameter's text as the JSON value the mapping expects: numbers stay strings
 * (proto3 JSON accepts them quoted, and they are range-checked there), booleans
 * become true/false, enums stay names (or numbers), and the well-known types that
 * have a string form keep it. A message field cannot be set from text.
 */
function textToJson(field: protobuf.Field, text: string, what: string): unknown {
  const resolved = field.resolvedType;
  const kind = resolved instanceof protobuf.Type ? wrapped[resolved.fullName] : resolved instanceof protobuf.Enum ? "enum" : field.type === "bool" ? "bool" : "scalar";
  switch (kind) {
    case undefined:
      throw new JsonMappingError(`${what}: message field "${field.name}" cannot be set from a path or query parameter`);
    case "bool":
      if (text === "true" || text === "false") return text === "true";
      throw new JsonMappingError(`${what}: expected true or false`);
    case "enum":
      return /^-?\d+$/.test(text) ? Number(text) : text;
    default:
      return text;
  }
}
