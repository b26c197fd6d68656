/**
 * Why a request path was refused. Instances are constants, so rejecting allocates
 * nothing and callers tell the outcomes apart with `instanceof`.
 */
export class PathRejection {
  constructor(readonly reason: string) {}
}

export const pathRejections = {
  notOriginForm: new PathRejection("the path must start with /"),
  invalidCharacter: new PathRejection("the path contains a character that is not allowed"),
  backslash: new PathRejection("the path contains a backslash"),
  malformedEscape: new PathRejection("the path contains a malformed percent-encoding"),
  encodedSeparator: new PathRejection("the path contains an encoded slash, backslash or NUL"),
  aboveRoot: new PathRejection("the path climbs above the root"),
  dotSegmentParameters: new PathRejection("the path contains a dot segment with parameters"),
} as const;

const unreserved = new Uint8Array(128);
for (const char of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") unreserved[char.charCodeAt(0)] = 1;

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const BACKSLASH = 0x5c;

/**
 * Normalizes a request path (without its query) before routing, so that the route
 * chosen and the path the upstream receives are the same thing:
 *
 * - Percent-encoded unreserved characters are decoded, and other escapes get
 *   upper-case hex (RFC 3986 6.2.2.1 and 6.2.2.2). `%2e%2e` therefore becomes `..`
 *   and is removed like any dot segment instead of slipping past the router.
 * - Dot segments are removed (RFC 3986 5.2.4), except that a path climbing above
 *   the root is refused instead of being clamped: no legitimate client sends one.
 * - Encoded slash, backslash and NUL are refused. Upstreams disagree on whether
 *   `%2F` separates segments, and some treat `\` as `/`; either lets `/public%2F..%2Fadmin`
 *   reach a route the gateway did not choose.
 * - A dot segment carrying parameters (`..;x`) is refused: some servlet containers
 *   drop the parameters and then treat it as `..` ("Breaking Parser Logic", Orange
 *   Tsai, Black Hat USA 2018).
 *
 * Empty segments (`//`) are kept, as RFC 3986 does. Returns the normalized path, or
 * the reason it was refused. Paths that need no work are returned unchanged, without
 * allocation.
 */
export function normalizePath(raw: string): string | PathRejection {
  if (raw.charCodeAt(0) !== SLASH) return pathRejections.notOriginForm;
  let escapes = false;
  let dots = false;
  for (let index = 0; index < raw.length; index++) {
    const code = raw.charCodeAt(index);
    if (code === PERCENT) escapes = true;
    else if (code === DOT && raw.charCodeAt(index - 1) === SLASH) dots = true;
    else if (code === BACKSLASH) return pathRejections.backslash;
    else if (code <= 0x20 || code >= 0x7f) return pathRejections.invalidCharacter;
  }
  if (!escapes && !dots) return raw;
  let path = raw;
  if (escapes) {
    const decoded = decodeUnreserved(raw);
    if (decoded instanceof PathRejection) return decoded;
    path = decoded;
  }
  return path.includes("/.") ? removeDotSegments(path) : path;
}

function decodeUnreserved(raw: string): string | PathRejection {
  let out = "";
  let copiedUpTo = 0;
  for (let index = raw.indexOf("%"); index !== -1; index = raw.indexOf("%", index + 1)) {
    const high = hexValue(raw.charCodeAt(index + 1));
    const low = hexValue(raw.charCodeAt(index + 2));
    if (high < 0 || low < 0) return pathRejections.malformedEscape;
    const byte = high * 16 + low;
    if (byte === SLASH || byte === BACKSLASH || byte === 0) return pathRejections.encodedSeparator;
    out += raw.slice(copiedUpTo, index);
    out += byte < 128 && unreserved[byte] === 1 ? String.fromCharCode(byte) : `%${raw.slice(index + 1, index + 3).toUpperCase()}`;
    copiedUpTo = index + 3;
    index += 2;
  }
  return out + raw.slice(copiedUpTo);
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

function removeDotSegments(path: string): string | PathRejection {
  const segments = path.split("/");
  const out: string[] = [];
  const last = segments.length - 1;
  for (let index = 1; index <= last; index++) {
    const segment = segments[index] as string;
    if (segment === ".") {
      if (index === last) out.push("");
    } else if (segment === "..") {
      if (out.length === 0) return pathRejections.aboveRoot;
      out.pop();
      if (index === last) out.push("");
    } else if (segment.startsWith(".;") || segment.startsWith("..;")) {
      return pathRejections.dotSegmentParameters;
    } else {
      out.push(segment);
    }
  }
  return `/${out.join("/")}`;
}
