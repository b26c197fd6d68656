import { performance } from "node:perf_hooks";
import type { Logger } from "@tollgate/observability";
import type { Redis } from "ioredis";
import type { Clock } from "../clock.js";
import { withTimeout } from "../policies/rate-limit/with-timeout.js";
import type { CacheEntry } from "./cache-entry.js";
import { matchesPurge, purgePrefix, storeKey, type CacheStore, type PurgeFilter } from "./cache-store.js";

export interface RedisCacheStoreOptions {
  client: Redis;
  /** Prefix of every key, e.g. "tollgate:cache:". */
  keyPrefix: string;
  /** A lookup slower than this is a miss. */
  timeoutMs: number;
  /** After a failure, how long lookups skip Redis (misses) before it is tried again. */
  retryAfterMs: number;
  clock: Pick<Clock, "epochMs">;
  logger?: Logger;
  /** Whether close() disconnects the client (false when the caller owns it). */
  ownsClient?: boolean;
}

interface StoredMeta {
  s: number;
  h: string[];
  t: number;
  a: number;
  f: number;
  w: number;
  e: number;
}

/**
 * One cache shared by every gateway, in Redis. Each entry is one string value (a
 * length-prefixed JSON head, then the body bytes) that Redis expires itself once nothing
 * can serve it. Redis being slow or down never fails a request: a lookup that errs or
 * takes longer than `timeoutMs` is a miss, and for `retryAfterMs` after a failure the
 * store does not ask Redis at all, so an outage costs one timeout, not one per request.
 * The outage is logged once when it starts and once when it ends.
 */
/** How long a purge waits for the store's first connection before it fails. */
const purgeConnectWaitMs = 5_000;

export class RedisCacheStore implements CacheStore {
  /** performance.now() until which Redis is not asked: an operational back-off, not cache time, so not the injected clock. */
  #skipUntil = 0;
  #down = false;
  #ready: Promise<void> | null = null;

  constructor(private readonly options: RedisCacheStoreOptions) {}

  get(routeId: string, key: string): Promise<CacheEntry | undefined> {
    const { client } = this.options;
    if (this.#skipUntil > performance.now()) return Promise.resolve(undefined);
    const id = this.options.keyPrefix + storeKey(routeId, key);
    // While the first connection is being made, a lookup waits for it (within timeoutMs);
    // once connected, a dropped connection fails commands at once (no offline queue).
    const lookup = client.status === "ready" ? client.getBuffer(id) : this.#firstConnection().then(() => client.getBuffer(id));
    return withTimeout(lookup, this.options.timeoutMs).then(
      (value) => {
        this.#recovered();
        return value === null ? undefined : decodeEntry(value);
      },
      (error: unknown) => {
        this.#failed(error);
        return undefined;
      },
    );
  }

  set(routeId: string, key: string, entry: CacheEntry, retainUntil: number): void {
    const { client, clock } = this.options;
    const ttlMs = Math.ceil(retainUntil - clock.epochMs());
    if (ttlMs <= 0 || client.status !== "ready" || this.#skipUntil > performance.now()) return;
    client.set(this.options.keyPrefix + storeKey(routeId, key), encodeEntry(entry), "PX", ttlMs).then(
      () => this.#recovered(),
      (error: unknown) => this.#failed(error),
    );
  }

  async purge(filter: PurgeFilter): Promise<number> {
    const { client, keyPrefix } = this.options;
    // A purge that arrives while the first connection is being made (one the control
    // plane asked for just as this gateway started) waits for it, off the request path.
    if (client.status !== "ready") await withTimeout(this.#firstConnection(), purgeConnectWaitMs);
    const pattern = `${escapeGlob(keyPrefix + purgePrefix(filter))}*`;
    // Without a route the prefix applies after "<route>|", which a glob can say too.
    const match = filter.routeId === undefined && filter.keyPrefix !== undefined ? `${escapeGlob(keyPrefix)}*|${escapeGlob(filter.keyPrefix)}*` : pattern;
    let cursor = "0";
    let removed = 0;
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", match, "COUNT", 1_000);
      cursor = next;
      // The glob is a superset when a path holds "|"; the exact rule decides.
      const matching = keys.filter((key) => matchesPurge(key.slice(keyPrefix.length), filter));
      if (matching.length > 0) removed += await client.unlink(...matching);
    } while (cursor !== "0");
    return removed;
  }

  close(): Promise<void> {
    if (this.options.ownsClient === true) this.options.client.disconnect();
    return Promise.resolve();
  }

  #firstConnection(): Promise<void> {
    const { client } = this.options;
    if (client.status !== "wait" && client.status !== "connecting" && client.status !== "connect") return Promise.resolve();
    return (this.#ready ??= new Promise<void>((resolve) => client.once("ready", () => resolve())));
  }

  #failed(error: unknown): void {
    this.#skipUntil = performance.now() + this.options.retryAfterMs;
    if (this.#down) return;
    this.#down = true;
    this.options.logger?.warn({ err: error, retryAfterMs: this.options.retryAfterMs }, "response cache: Redis unavailable; serving without the shared cache");
  }

  #recovered(): void {
    if (!this.#down) return;
    this.#down = false;
    this.options.logger?.info("response cache: Redis available again");
  }
}

/** Length of the JSON head, then the head, then the body. */
export function encodeEntry(entry: CacheEntry): Buffer {
  const meta: StoredMeta = {
    s: entry.status,
    h: [...entry.headers],
    t: entry.storedAt,
    a: entry.initialAgeSeconds,
    f: entry.freshUntil,
    w: entry.staleWhileRevalidateUntil,
    e: entry.staleIfErrorUntil,
  };
  const head = Buffer.from(JSON.stringify(meta), "utf8");
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32BE(head.length, 0);
  return Buffer.concat([prefix, head, entry.body]);
}

/** The entry, or undefined for a value this version cannot read (it is then a miss, and overwritten). */
export function decodeEntry(value: Buffer): CacheEntry | undefined {
  if (value.length < 4) return undefined;
  const headLength = value.readUInt32BE(0);
  if (4 + headLength > value.length) return undefined;
  let meta: StoredMeta;
  try {
    meta = JSON.parse(value.subarray(4, 4 + headLength).toString("utf8")) as StoredMeta;
  } catch {
    return undefined;
  }
  if (typeof meta.s !== "number" || !Array.isArray(meta.h)) return undefined;
  return {
    status: meta.s,
    headers: meta.h,
    body: value.subarray(4 + headLength),
    storedAt: meta.t,
    initialAgeSeconds: meta.a,
    freshUntil: meta.f,
    staleWhileRevalidateUntil: meta.w,
    staleIfErrorUntil: meta.e,
  };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
