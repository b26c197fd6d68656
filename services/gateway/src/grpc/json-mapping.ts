import protobuf from "protobufjs";

/**
 * The proto3 JSON mapping (https://protobuf.dev/programming-guides/json/) on top of
 * protobufjs. protobufjs converts between messages and plain objects (fromObject,
 * toObject); with the options below its plain objects already carry int64 as decimal
 * strings, enums by name and bytes as base64. What it does not do is done here:
 *
 * - field names: JSON uses lowerCamelCase (or the field's json_name); parsing accepts
 *   that name and the proto name, and refuses unknown fields;
 * - type checks: protobufjs coerces whatever it is given ("abc" into an int32 becomes
 *   0); here a value of the wrong JSON type, an out-of-range number or an unknown enum
 *   name is refused, naming the field;
 * - well-known types: Timestamp (RFC 3339), Duration ("1.5s"), the wrappers (the bare
 *   value), Struct / Value / ListValue (any JSON), FieldMask ("a.b,c"); Empty is the
 *   empty object like any message without fields. Any is not supported.
 */

/** toObject options giving the proto3 JSON forms of scalars; defaults: every field is written, as clients of a REST API expect. */
export const toObjectOptions: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: String,
  defaults: true,
  arrays: true,
  objects: true,
  json: true,
};

/** A request value that does not fit the message: a 400, naming the field. */
export class JsonMappingError extends Error {
  override readonly name = "JsonMappingError";
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Plain = Record<string, unknown>;

interface FieldInfo {
  readonly field: protobuf.Field;
  readonly jsonName: string;
}

interface TypeInfo {
  readonly fields: readonly FieldInfo[];
  /** By JSON name and by proto name. */
  readonly byName: ReadonlyMap<string, FieldInfo>;
}

const typeInfos = new WeakMap<protobuf.Type, TypeInfo>();

/** protoc's ToJsonName: "created_at" → "createdAt"; json_name wins when set. */
export function jsonNameOf(field: protobuf.Field): string {
  const explicit = (field.options as { json_name?: unknown } | undefined)?.json_name;
  if (typeof explicit === "string") return explicit;
  return field.name.replace(/_+([a-zA-Z0-9])?/g, (_match, next: string | undefined) => (next === undefined ? "" : next.toUpperCase()));
}

function infoOf(type: protobuf.Type): TypeInfo {
  let info = typeInfos.get(type);
  if (info === undefined) {
    const fields = type.fieldsArray.map((field) => ({ field: field.resolve(), jsonName: jsonNameOf(field) }));
    const byName = new Map<string, FieldInfo>();
    for (const entry of fields) {
      byName.set(entry.jsonName, entry);
      byName.set(entry.field.name, entry);
    }
    info = { fields, byName };
    typeInfos.set(type, info);
  }
  return info;
}

/** The field named by a JSON or proto name, or undefined. */
export function fieldByName(type: protobuf.Type, name: string): protobuf.Field | undefined {
  return infoOf(type).byName.get(name)?.field;
}

// ---------------------------------------------------------------- JSON → message

/** Parses proto3 JSON into a message of `type`. Throws JsonMappingError. */
export function jsonToMessage(type: protobuf.Type, json: unknown): protobuf.Message {
  const plain = messageIn(type, json, "");
  return type.fromObject(plain as Plain);
}

function messageIn(type: protobuf.Type, json: unknown, at: string): unknown {
  const wellKnown = wellKnownIn(type, json, at);
  if (wellKnown !== undefined) return wellKnown;
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new JsonMappingError(`${where(at)}expected a JSON object`);
  const info = infoOf(type);
  const out: Plain = {};
  const seen = new Set<protobuf.Field>();
  for (const [key, value] of Object.entries(json)) {
    const entry = info.byName.get(key);
    if (entry === undefined) throw new JsonMappingError(`${where(at)}unknown field "${key}"`);
    const { field } = entry;
    if (seen.has(field)) throw new JsonMappingError(`${where(join(at, key))}field given twice (by its JSON and its proto name)`);
    seen.add(field);
    const path = join(at, entry.jsonName);
    if (value === null && !isValueType(field)) continue;
    if (field.partOf !== null && field.partOf !== undefined) {
      const other = field.partOf.fieldsArray.find((member) => member !== field && seen.has(member));
      if (other !== undefined) throw new JsonMappingError(`${where(path)}only one field of oneof "${field.partOf.name}" may be set`);
    }
    out[field.name] = fieldIn(field, value, path);
  }
  return out;
}

function fieldIn(field: protobuf.Field, value: unknown, path: string): unknown {
  if (field instanceof protobuf.MapField) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new JsonMappingError(`${where(path)}expected a JSON object (map)`);
    const out: Plain = {};
    for (const [key, item] of Object.entries(value)) {
      scalarIn(field.keyType, key, `${path}[${key}]`, true);
      out[key] = singleIn(field, item, `${path}.${key}`);
    }
    return out;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) throw new JsonMappingError(`${where(path)}expected a JSON array`);
    return value.map((item, index) => singleIn(field, item, `${path}[${index}]`));
  }
  return singleIn(field, value, path);
}

function singleIn(field: protobuf.Field, value: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageIn(resolved, value, path);
  if (resolved instanceof protobuf.Enum) return enumIn(resolved, value, path);
  return scalarIn(field.type, value, path, false);
}

function enumIn(type: protobuf.Enum, value: unknown, path: string): unknown {
  if (type.fullName === ".google.protobuf.NullValue") return 0;
  if (typeof value === "string") {
    if (!Object.hasOwn(type.values, value)) throw new JsonMappingError(`${where(path)}unknown ${type.name} value "${value}"`);
    return value;
  }
  if (typeof value === "number" && Number.isInteger(value) && Math.abs(value) <= 2 ** 31) return value;
  throw new JsonMappingError(`${where(path)}expected a ${type.name} name`);
}

const int32Range: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
};
const int64Range: Record<string, [bigint, bigint]> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};
const base64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** A scalar in its proto3 JSON form; map keys always come as strings. */
function scalarIn(type: string, value: unknown, path: string, mapKey: boolean): unknown {
  const range32 = int32Range[type];
  if (range32 !== undefined) {
    const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof number !== "number" || !Number.isInteger(number) || number < range32[0] || number > range32[1]) {
      throw new JsonMappingError(`${where(path)}expected a ${type} (an integer from ${range32[0]} to ${range32[1]})`);
    }
    return number;
  }
  const range64 = int64Range[type];
  if (range64 !== undefined) {
    const text = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
    if (typeof text !== "string" || !/^-?\d{1,20}$/.test(text) || BigInt(text) < range64[0] || BigInt(text) > range64[1]) {
      throw new JsonMappingError(`${where(path)}expected a ${type} as a decimal string`);
    }
    return text;
  }
  switch (type) {
    case "double":
    case "float": {
      if (typeof value === "number") return value;
      if (value === "NaN" || value === "Infinity" || value === "-Infinity") return Number(value);
      if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
      throw new JsonMappingError(`${where(path)}expected a number`);
    }
    case "bool":
      if (typeof value === "boolean") return value;
      if (mapKey && (value === "true" || value === "false")) return value === "true";
      throw new JsonMappingError(`${where(path)}expected true or false`);
    case "string":
      if (typeof value === "string") return value;
      throw new JsonMappingError(`${where(path)}expected a string`);
    case "bytes":
      if (typeof value === "string" && base64.test(value)) return value.replaceAll("-", "+").replaceAll("_", "/");
      throw new JsonMappingError(`${where(path)}expected base64-encoded bytes`);
    default:
      throw new JsonMappingError(`${where(path)}unsupported field type ${type}`);
  }
}

function isValueType(field: protobuf.Field): boolean {
  const name = field.resolvedType?.fullName;
  return name === ".google.protobuf.Value" || name === ".google.protobuf.NullValue";
}

const wrapperTypes: Record<string, string> = {
  ".google.protobuf.DoubleValue": "double",
  ".google.protobuf.FloatValue": "float",
  ".google.protobuf.Int64Value": "int64",
  ".google.protobuf.UInt64Value": "uint64",
  ".google.protobuf.Int32Value": "int32",
  ".google.protobuf.UInt32Value": "uint32",
  ".google.protobuf.BoolValue": "bool",
  ".google.protobuf.StringValue": "string",
  ".google.protobuf.BytesValue": "bytes",
};

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;
const durationText = /^(-)?(\d{1,12})(?:\.(\d{1,9}))?s$/;

/** The plain-object form of a well-known type, or undefined when `type` is not one. */
function wellKnownIn(type: protobuf.Type, json: unknown, at: string): unknown {
  const name = type.fullName;
  const wrapped = wrapperTypes[name];
  if (wrapped !== undefined) return { value: scalarIn(wrapped, json, at, false) };
  switch (name) {
    case ".google.protobuf.Timestamp":
      return timestampIn(json, at);
    case ".google.protobuf.Duration": {
      const match = typeof json === "string" ? durationText.exec(json) : null;
      if (match === null) throw new JsonMappingError(`${where(at)}expected a duration such as "1.5s"`);
      const sign = match[1] === "-" ? -1 : 1;
      const nanos = Number((match[3] ?? "").padEnd(9, "0"));
      return { seconds: `${sign < 0 && match[2] !== "0" ? "-" : ""}${match[2] as string}`, nanos: sign * nanos };
    }
    case ".google.protobuf.FieldMask":
      if (typeof json !== "string") throw new JsonMappingError(`${where(at)}expected a field mask such as "a.b,c"`);
      return { paths: json === "" ? [] : json.split(",").map((path) => path.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)) };
    case ".google.protobuf.Struct":
      if (typeof json !== "object" || json === null || Array.isArray(json)) throw new JsonMappingError(`${where(at)}expected a JSON object`);
      return structIn(json as Record<string, unknown>, at);
    case ".google.protobuf.ListValue":
      if (!Array.isArray(json)) throw new JsonMappingError(`${where(at)}expected a JSON array`);
      return { values: json.map((item, index) => valueIn(item, `${at}[${index}]`)) };
    case ".google.protobuf.Value":
      return valueIn(json, at);
    case ".google.protobuf.Any":
      throw new JsonMappingError(`${where(at)}google.protobuf.Any is not supported by the transcoder`);
    default:
      return undefined;
  }
}

function timestampIn(json: unknown, at: string): unknown {
  const match = typeof json === "string" ? rfc3339.exec(json) : null;
  if (match === null) throw new JsonMappingError(`${where(at)}expected an RFC 3339 timestamp such as "2026-11-26T10:00:00Z"`);
  const [, year, month, day, hour, minute, second, fraction, offset] = match as unknown as string[];
  const utc = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  const check = new Date(utc);
  if (check.getUTCDate() !== Number(day) || check.getUTCHours() !== Number(hour) || Number(second) > 59) {
    throw new JsonMappingError(`${where(at)}not a valid date and time: "${String(json)}"`);
  }
  let offsetSeconds = 0;
  if (offset !== undefined && offset.toUpperCase() !== "Z") {
    const sign = offset.startsWith("-") ? -1 : 1;
    offsetSeconds = sign * (Number(offset.slice(1, 3)) * 3_600 + Number(offset.slice(4, 6)) * 60);
  }
  const seconds = BigInt(Math.floor(utc / 1_000)) - BigInt(offsetSeconds);
  return { seconds: String(seconds), nanos: Number((fraction ?? "").padEnd(9, "0")) };
}

function structIn(json: Record<string, unknown>, at: string): Plain {
  const fields: Plain = {};
  for (const [key, value] of Object.entries(json)) fields[key] = valueIn(value, join(at, key));
  return { fields };
}

function valueIn(json: unknown, at: string): Plain {
  if (json === null) return { nullValue: 0 };
  if (typeof json === "number") return { numberValue: json };
  if (typeof json === "string") return { stringValue: json };
  if (typeof json === "boolean") return { boolValue: json };
  if (Array.isArray(json)) return { listValue: { values: json.map((item, index) => valueIn(item, `${at}[${index}]`)) } };
  if (typeof json === "object") return { structValue: structIn(json as Record<string, unknown>, at) };
  throw new JsonMappingError(`${where(at)}not a JSON value`);
}

// ---------------------------------------------------------------- message → JSON

/** The proto3 JSON form of a message of `type`. */
export function messageToJson(type: protobuf.Type, message: protobuf.Message): Json {
  return messageOut(type, type.toObject(message, toObjectOptions));
}

function messageOut(type: protobuf.Type, plain: unknown): Json {
  const wellKnown = wellKnownOut(type, plain as Plain);
  if (wellKnown !== undefined) return wellKnown;
  const source = plain as Plain;
  const out: { [key: string]: Json } = {};
  for (const { field, jsonName } of infoOf(type).fields) {
    const value = source[field.name];
    // Unset message fields come out of toObject as null; proto3 JSON leaves them out.
    if (value === undefined || value === null) continue;
    out[jsonName] = fieldOut(field, value);
  }
  return out;
}

function fieldOut(field: protobuf.Field, value: unknown): Json {
  if (field instanceof protobuf.MapField) {
    const out: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value as Plain)) out[key] = singleOut(field, item);
    return out;
  }
  if (field.repeated) return (value as unknown[]).map((item) => singleOut(field, item));
  return singleOut(field, value);
}

function singleOut(field: protobuf.Field, value: unknown): Json {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageOut(resolved, value);
  if (resolved instanceof protobuf.Enum && resolved.fullName === ".google.protobuf.NullValue") return null;
  return value as Json;
}

function wellKnownOut(type: protobuf.Type, plain: Plain): Json | undefined {
  const name = type.fullName;
  if (wrapperTypes[name] !== undefined) return plain.value as Json;
  switch (name) {
    case ".google.protobuf.Timestamp":
      return timestampOut(plain.seconds as string, Number(plain.nanos ?? 0));
    case ".google.protobuf.Duration":
      return durationOut(plain.seconds as string, Number(plain.nanos ?? 0));
    case ".google.protobuf.FieldMask":
      return ((plain.paths as string[] | undefined) ?? []).map((path) => path.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase())).join(",");
    case ".google.protobuf.Struct":
      return structOut(plain);
    case ".google.protobuf.ListValue":
      return ((plain.values as Plain[] | undefined) ?? []).map(valueOut);
    case ".google.protobuf.Value":
      return valueOut(plain);
    default:
      return undefined;
  }
}

function structOut(plain: Plain): Json {
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries((plain.fields as Record<string, Plain> | undefined) ?? {})) out[key] = valueOut(value);
  return out;
}

function valueOut(plain: Plain): Json {
  if (plain.structValue !== undefined && plain.structValue !== null) return structOut(plain.structValue as Plain);
  if (plain.listValue !== undefined && plain.listValue !== null) return ((plain.listValue as Plain).values as Plain[] | undefined ?? []).map(valueOut);
  if (plain.stringValue !== undefined) return plain.stringValue as string;
  if (plain.numberValue !== undefined) return plain.numberValue as number;
  if (plain.boolValue !== undefined) return plain.boolValue as boolean;
  return null;
}

/** RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as the spec's reference implementations write it. */
export function timestampOut(seconds: string, nanos: number): string {
  const date = new Date(Number(seconds) * 1_000);
  const base = date.toISOString().slice(0, 19);
  return `${base}${fraction(nanos)}Z`;
}

export function durationOut(seconds: string, nanos: number): string {
  const negative = seconds.startsWith("-") || nanos < 0;
  const whole = seconds.replace(/^-/, "");
  return `${negative ? "-" : ""}${whole}${fraction(Math.abs(nanos))}s`;
}

function fraction(nanos: number): string {
  if (nanos === 0) return "";
  const digits = String(nanos).padStart(9, "0");
  if (digits.endsWith("000000")) return `.${digits.slice(0, 3)}`;
  if (digits.endsWith("000")) return `.${digits.slice(0, 6)}`;
  return `.${digits}`;
}

function join(at: string, key: string): string {
  return at === "" ? key : `${at}.${key}`;
}

function where(path: string): string {
  return path === "" ? "" : `${path}: `;
}
