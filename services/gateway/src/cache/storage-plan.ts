import type { RouteCacheConfig } from "./cache-config.js";
import { parseCacheControl } from "./cache-control.js";
import type { CacheEntry } from "./cache-entry.js";

/**
 * Statuses a cache may store with a route's default freshness (RFC 9110 15.1,
 * "heuristically cacheable"), and so the only ones stored at all: 206 is left out, as
 * partial content would need range handling this cache does not do.
 */
export const cacheableStatuses: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/** How a response will be stored, decided from its head; the body is added once complete. */
export interface StoragePlan {
  readonly status: number;
  /** The response's headers to store (see CacheEntry.headers), without Content-Length yet. */
  readonly headers: string[];
  readonly initialAgeSeconds: number;
  readonly freshMs: number;
  readonly staleWhileRevalidateMs: number;
  readonly staleIfErrorMs: number;
  /** The declared Content-Length, or -1. */
  readonly contentLength: number;
}

/**
 * Whether a response to a GET may be stored in this shared cache (RFC 9111 3), and for
 * how long. Returns the plan, or the reason it may not be stored:
 * - only the statuses above, and only with freshness: s-maxage (preferred, being meant
 *   for shared caches), else max-age, else the route's ttlSeconds;
 * - never no-store, private or no-cache (this cache does not revalidate);
 * - never a Set-Cookie response, unless the route allows it;
 * - never `Vary: *`, nor a Vary on a header that is not part of the route's key;
 * - a request with Authorization only when the response says it may be shared
 *   (public, s-maxage or must-revalidate, RFC 9111 3.5);
 * - never a declared body larger than the route's maxEntryBytes.
 * must-revalidate/proxy-revalidate rules out serving it stale.
 *
 * `headers` are the relayed headers, flat; only `[0, end)` are the upstream's.
 */
export function planStorage(
  status: number,
  headers: readonly string[],
  end: number,
  route: RouteCacheConfig,
  requestHasAuthorization: boolean,
): StoragePlan | string {
  if (!cacheableStatuses.has(status)) return `status ${status} is not cacheable`;
  let cacheControl = "";
  let setCookie = false;
  let vary = "";
  let age = 0;
  let contentLength = -1;
  const stored: string[] = [];
  for (let index = 0; index < end; index += 2) {
    const name = headers[index] as string;
    const value = headers[index + 1] as string;
    switch (name.toLowerCase()) {
      case "cache-control":
        cacheControl = cacheControl.length === 0 ? value : `${cacheControl}, ${value}`;
        break;
      case "set-cookie":
        setCookie = true;
        break;
      case "vary":
        vary = vary.length === 0 ? value : `${vary}, ${value}`;
        break;
      case "age": {
        const parsed = /^[0-9]+$/.test(value.trim()) ? Number(value.trim()) : 0;
        age = Math.min(parsed, 2_147_483_648);
        continue;
      }
      case "content-length":
        contentLength = Number(value);
        continue;
      // An X-Cache from a cache behind the upstream would contradict the gateway's own.
      case "x-cache":
        continue;
    }
    stored.push(name, value);
  }
  const directives = parseCacheControl(cacheControl);
  if (directives.noStore) return "Cache-Control: no-store";
  if (directives.private) return "Cache-Control: private";
  if (directives.noCache) return "Cache-Control: no-cache";
  if (setCookie && !route.allowSetCookie) return "the response sets a cookie";
  const varyProblem = checkVary(vary, route.vary);
  if (varyProblem !== null) return varyProblem;
  if (requestHasAuthorization && !directives.public && directives.sMaxAge === undefined && !directives.mustRevalidate) {
    return "a response to a request with Authorization that does not say it may be shared";
  }
  if (contentLength > route.maxEntryBytes) return `the body is larger than maxEntryBytes (${route.maxEntryBytes})`;
  const freshSeconds = directives.sMaxAge ?? directives.maxAge ?? (route.ttlSeconds > 0 ? route.ttlSeconds : undefined);
  if (freshSeconds === undefined) return "no freshness: neither s-maxage nor max-age, and the route has no ttlSeconds";
  const staleAllowed = !directives.mustRevalidate;
  const plan: StoragePlan = {
    status,
    headers: stored,
    initialAgeSeconds: age,
    freshMs: Math.max(0, freshSeconds - age) * 1_000,
    staleWhileRevalidateMs: staleAllowed ? (directives.staleWhileRevalidate ?? route.staleWhileRevalidateSeconds) * 1_000 : 0,
    staleIfErrorMs: staleAllowed ? (directives.staleIfError ?? route.staleIfErrorSeconds) * 1_000 : 0,
    contentLength,
  };
  if (plan.freshMs === 0 && plan.staleWhileRevalidateMs === 0 && plan.staleIfErrorMs === 0) return "already stale, and may not be served stale";
  return plan;
}

/** The entry the plan describes, with its complete body, stored at `now`. */
export function entryFromPlan(plan: StoragePlan, body: Buffer, now: number): CacheEntry {
  const headers = plan.headers;
  if (plan.status !== 204) headers.push("content-length", String(body.length));
  const freshUntil = now + plan.freshMs;
  return {
    status: plan.status,
    headers,
    body,
    storedAt: now,
    initialAgeSeconds: plan.initialAgeSeconds,
    freshUntil,
    staleWhileRevalidateUntil: freshUntil + plan.staleWhileRevalidateMs,
    staleIfErrorUntil: freshUntil + plan.staleIfErrorMs,
  };
}

function checkVary(vary: string, keyed: readonly string[]): string | null {
  if (vary.length === 0) return null;
  for (const part of vary.split(",")) {
    const name = part.trim().toLowerCase();
    if (name.length === 0) continue;
    if (name === "*") return "Vary: *";
    if (!keyed.includes(name)) return `Vary: ${name}, which is not in the route's cache.vary`;
  }
  return null;
}
