/** The signature scheme's name: the Authorization scheme and the first line of the string to sign. */
export const hmacScheme = "HMAC-SHA256";

/** Everything a signature covers, already canonical (see canonicalPath and canonicalQuery). */
export interface SignedParts {
  keyId: string;
  nonce: string;
  /** X-Tollgate-Date exactly as sent: `YYYY-MM-DDTHH:MM:SSZ`. */
  date: string;
  method: string;
  path: string;
  query: string;
  /** Base64 SHA-256 of the body: the `sha-256` member of Content-Digest. */
  bodyDigest: string;
  /** Signed headers in the order the signature lists them, lower-case names, values as received. */
  headers: ReadonlyArray<readonly [name: string, value: string]>;
}

/**
 * The exact bytes that are signed (docs/hmac-signing.md): one line each for the
 * scheme, key id, nonce, date, method, path, query, body digest and the list of
 * signed header names, then one `name:value` line per signed header; joined by LF
 * with no trailing newline. Every field is on its own line and none can contain a
 * LF, so no two different requests produce the same string.
 */
export function createStringToSign(parts: SignedParts): string {
  return [
    hmacScheme,
    parts.keyId,
    parts.nonce,
    parts.date,
    parts.method,
    parts.path,
    parts.query,
    parts.bodyDigest,
    parts.headers.map(([name]) => name).join(";"),
    ...parts.headers.map(([name, value]) => `${name}:${value}`),
  ].join("\n");
}

/**
 * RFC 3986 6.2.2 normalization of percent-encoding: hex digits upper-cased, escapes
 * of unreserved characters decoded. Both leave the meaning of a URI unchanged for
 * every reader, so a proxy that re-encodes does not break a signature, and nothing
 * an attacker could change (`+` against `%2B` or `%20`, `/` against `%2F`) is
 * normalized away. Undefined when a `%` is not followed by two hex digits.
 */
export function normalizePercentEncoding(value: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(value)) return undefined;
  return value.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const character = String.fromCharCode(parseInt(hex, 16));
    return /^[A-Za-z0-9\-._~]$/.test(character) ? character : `%${hex.toUpperCase()}`;
  });
}

/** The path as sent (empty becomes `/`), percent-encoding normalized; dot segments are not resolved. */
export function canonicalPath(path: string): string | undefined {
  return normalizePercentEncoding(path === "" ? "/" : path);
}

/**
 * The query's `&`-separated pairs, percent-encoding normalized, empty pairs dropped,
 * stably sorted by name (the part before the first `=`). Values of a repeated name
 * keep their order: for many frameworks `a=1&a=2` and `a=2&a=1` differ.
 */
export function canonicalQuery(query: string): string | undefined {
  const pairs: string[] = [];
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const normalized = normalizePercentEncoding(pair);
    if (normalized === undefined) return undefined;
    pairs.push(normalized);
  }
  const nameOf = (pair: string): string => {
    const equals = pair.indexOf("=");
    return equals === -1 ? pair : pair.slice(0, equals);
  };
  return pairs
    .map((pair) => [nameOf(pair), pair] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, pair]) => pair)
    .join("&");
}
