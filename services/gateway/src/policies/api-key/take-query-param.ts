import { repeatedValue } from "../request-headers.js";

export interface TakenQueryParam {
  /** The parameter's decoded value; undefined when absent; `repeatedValue` when it came with different values. */
  value: string | undefined | typeof repeatedValue;
  /** The query without every occurrence of the parameter ("" when nothing is left), or the input unchanged when it had none. */
  query: string;
}

const absent: TakenQueryParam = { value: undefined, query: "" };

/**
 * Finds a parameter in a query string ("?a=1&api_key=…") and removes every occurrence
 * of it, leaving the other parameters byte for byte as the client sent them.
 *
 * Names are compared after percent-decoding (and `+` as a space, as HTML forms encode
 * them): an upstream framework decodes `api%5Fkey` to `api_key`, so a key sent under
 * that spelling must be found, and removed, too.
 */
export function takeQueryParam(query: string, name: string): TakenQueryParam {
  if (query.length === 0) return absent;
  if (!query.includes(name) && !query.includes("%")) return { value: undefined, query };
  const parts = query.slice(1).split("&");
  const kept: string[] = [];
  let value: string | undefined | typeof repeatedValue;
  for (const part of parts) {
    const equals = part.indexOf("=");
    const rawName = equals === -1 ? part : part.slice(0, equals);
    if (decodeComponent(rawName) !== name) {
      kept.push(part);
      continue;
    }
    const decoded = decodeComponent(equals === -1 ? "" : part.slice(equals + 1));
    if (value === undefined) value = decoded;
    else if (value !== decoded) value = repeatedValue;
  }
  if (kept.length === parts.length) return { value: undefined, query };
  return { value, query: kept.length === 0 ? "" : `?${kept.join("&")}` };
}

/** application/x-www-form-urlencoded decoding; a malformed escape is kept as it was. */
function decodeComponent(text: string): string {
  const spaced = text.includes("+") ? text.replaceAll("+", " ") : text;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
