/**
 * The response directives of Cache-Control (RFC 9111 5.2.2) that a shared cache acts
 * on, plus the stale-* extensions of RFC 5861. Delta-seconds are undefined when absent.
 */
export interface ResponseCacheControl {
  noStore: boolean;
  /** `no-cache` (with or without field names): storing it would need revalidation, which this cache does not do. */
  noCache: boolean;
  private: boolean;
  public: boolean;
  /** must-revalidate or proxy-revalidate: never served stale. */
  mustRevalidate: boolean;
  maxAge: number | undefined;
  sMaxAge: number | undefined;
  staleWhileRevalidate: number | undefined;
  staleIfError: number | undefined;
}

/**
 * RFC 9111 1.2.2: a delta-seconds too large to represent is taken as 2^31; a value that
 * is not a non-negative integer makes the directive invalid, and an invalid freshness
 * directive is taken as stale (max-age=0), never as "cache forever".
 */
const maxDelta = 2_147_483_648;

/** Parses one or more Cache-Control field values (joined with commas). Unknown directives are ignored. */
export function parseCacheControl(value: string): ResponseCacheControl {
  const parsed: ResponseCacheControl = {
    noStore: false,
    noCache: false,
    private: false,
    public: false,
    mustRevalidate: false,
    maxAge: undefined,
    sMaxAge: undefined,
    staleWhileRevalidate: undefined,
    staleIfError: undefined,
  };
  for (const part of splitDirectives(value)) {
    const equals = part.indexOf("=");
    const name = (equals === -1 ? part : part.slice(0, equals)).trim().toLowerCase();
    const argument = equals === -1 ? undefined : unquote(part.slice(equals + 1).trim());
    switch (name) {
      case "no-store":
        parsed.noStore = true;
        break;
      case "no-cache":
        parsed.noCache = true;
        break;
      case "private":
        parsed.private = true;
        break;
      case "public":
        parsed.public = true;
        break;
      case "must-revalidate":
      case "proxy-revalidate":
        parsed.mustRevalidate = true;
        break;
      case "max-age":
        parsed.maxAge = deltaSeconds(argument);
        break;
      case "s-maxage":
        parsed.sMaxAge = deltaSeconds(argument);
        break;
      case "stale-while-revalidate":
        parsed.staleWhileRevalidate = deltaSeconds(argument);
        break;
      case "stale-if-error":
        parsed.staleIfError = deltaSeconds(argument);
        break;
    }
  }
  return parsed;
}

/** Splits on commas outside quoted strings (a `private="set-cookie"` list holds commas). */
function splitDirectives(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code === 0x22) quoted = !quoted;
    else if (code === 0x2c && !quoted) {
      parts.push(value.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(value.slice(start));
  return parts.filter((part) => part.trim().length > 0);
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

function deltaSeconds(argument: string | undefined): number {
  if (argument === undefined || !/^[0-9]+$/.test(argument)) return 0;
  const seconds = Number(argument);
  return seconds > maxDelta ? maxDelta : seconds;
}
