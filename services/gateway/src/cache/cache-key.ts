import { routingHost } from "../exchange.js";

/**
 * The key of a cached response within its route: host, path and normalized query,
 * then the values of the route's Vary headers, then the consumer on private routes.
 *
 *   api.example.com/products/42?color=red&size=m
 *   api.example.com/products/42?color=red&size=m\naccept=application/json
 *   api.example.com/me\n@consumer-7
 *
 * The method is not part of it: HEAD is answered from the GET entry (RFC 9110 9.3.2, a
 * HEAD response is the GET response without its content). The text up to the first
 * newline is what a purge `keyPrefix` matches.
 */
export function cacheKey(
  host: string,
  path: string,
  query: string,
  vary: readonly string[],
  headers: readonly string[],
  consumerId: string | null | undefined,
): string {
  let key = routingHost(host) + path + normalizeQuery(query);
  for (const name of vary) key += `\n${name}=${headerValues(headers, name)}`;
  if (consumerId !== undefined) key += `\n@${consumerId ?? ""}`;
  return key;
}

/**
 * Query parameters sorted by name, so that ?b=2&a=1 and ?a=1&b=2 share an entry. The
 * order of repeated names is kept (?a=1&a=2 and ?a=2&a=1 can mean different things), as
 * is each parameter's encoding; empty parameters ("&&") are dropped.
 */
export function normalizeQuery(query: string): string {
  if (query.length <= 1) return "";
  if (query.indexOf("&") === -1) return query;
  const params = query
    .slice(1)
    .split("&")
    .filter((param) => param.length > 0);
  params.sort((a, b) => {
    const nameA = nameOf(a);
    const nameB = nameOf(b);
    return nameA < nameB ? -1 : nameA > nameB ? 1 : 0;
  });
  return params.length === 0 ? "" : `?${params.join("&")}`;
}

/** Whether a flat header list has the (lower-case) name. */
export function hasHeader(headers: readonly string[], lowerName: string): boolean {
  for (let index = 0; index < headers.length; index += 2) {
    const name = headers[index] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return true;
  }
  return false;
}

function nameOf(param: string): string {
  const equals = param.indexOf("=");
  return equals === -1 ? param : param.slice(0, equals);
}

/** Every value of the (lower-case) header, in order, joined by ", "; empty when absent. */
function headerValues(headers: readonly string[], lowerName: string): string {
  let values = "";
  for (let index = 0; index < headers.length; index += 2) {
    const name = headers[index] as string;
    if (name.length !== lowerName.length || name.toLowerCase() !== lowerName) continue;
    // A newline cannot reach here (Node refuses it in a header value), so values cannot forge the key's separators.
    const value = (headers[index + 1] as string).trim();
    values = values.length === 0 ? value : `${values}, ${value}`;
  }
  return values;
}

