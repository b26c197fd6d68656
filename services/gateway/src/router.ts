/** What the router needs of a route: the rest of the route rides along untouched. */
export interface Routable {
  readonly id: string;
  readonly match: {
    /** Normalized, without trailing slash except for the root "/". */
    readonly pathPrefix: string;
    /** Lower-case host names or `*.suffix` wildcards; empty matches every host. */
    readonly hosts: readonly string[];
    /** Methods; empty matches every method. */
    readonly methods: readonly string[];
  };
}

interface Entry<R> {
  readonly route: R;
  readonly prefix: string;
  readonly exactHosts: ReadonlySet<string> | null;
  /** ".example.com" for "*.example.com", longest first. */
  readonly hostSuffixes: readonly string[];
  readonly anyHost: boolean;
  readonly methods: ReadonlySet<string> | null;
}

const EXACT_HOST = 1_000_000;
const WILDCARD_HOST = 1_000;

/**
 * Routes compiled at config load. A request goes to the route with the longest
 * path prefix that matches at a segment boundary; among routes with that prefix,
 * an exact host beats a wildcard (the longer suffix beating the shorter), which
 * beats no host rule, and a listed method beats no method rule. The config check
 * refuses routes that would tie, so the outcome never depends on config order.
 *
 * The router only ever sees the normalized path (see normalizePath) and the host
 * without its port. It selects among configured routes: nothing a client sends can
 * make it produce an upstream that is not in the config.
 */
export class Router<R extends Routable> {
  private readonly entries: readonly Entry<R>[];

  constructor(routes: readonly R[]) {
    this.entries = routes
      .map((route): Entry<R> => {
        const exact = route.match.hosts.filter((host) => !host.startsWith("*."));
        const suffixes = route.match.hosts
          .filter((host) => host.startsWith("*."))
          .map((host) => host.slice(1))
          .sort((a, b) => b.length - a.length);
        return {
          route,
          prefix: route.match.pathPrefix,
          exactHosts: exact.length > 0 ? new Set(exact) : null,
          hostSuffixes: suffixes,
          anyHost: route.match.hosts.length === 0,
          methods: route.match.methods.length > 0 ? new Set(route.match.methods) : null,
        };
      })
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /**
   * @param host lower-case, without port; "" when the request named none
   * @param path normalized, without query
   */
  match(method: string, host: string, path: string): R | undefined {
    let best: Entry<R> | undefined;
    let bestScore = -1;
    for (const entry of this.entries) {
      if (best !== undefined && entry.prefix.length < best.prefix.length) break;
      if (!prefixMatches(entry.prefix, path)) continue;
      const hostScore = scoreHost(entry, host);
      if (hostScore < 0) continue;
      let score = hostScore;
      if (entry.methods !== null) {
        if (!entry.methods.has(method)) continue;
        score += 1;
      }
      if (score > bestScore) {
        best = entry;
        bestScore = score;
      }
    }
    return best?.route;
  }
}

export function compileRouter<R extends Routable>(routes: readonly R[]): Router<R> {
  return new Router(routes);
}

function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === "/") return true;
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f;
}

function scoreHost(entry: Entry<unknown>, host: string): number {
  if (entry.anyHost) return 0;
  if (entry.exactHosts?.has(host)) return EXACT_HOST;
  for (const suffix of entry.hostSuffixes) {
    // "*.example.com" needs at least one label before the suffix: it does not match the apex.
    if (host.length > suffix.length && host.endsWith(suffix)) return WILDCARD_HOST + suffix.length;
  }
  return -1;
}
