import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { streams, type CachePurgeFilter, type CachePurgeRequested, type ControlEvent } from "@tollgate/events";
import { SqliteEventStore, type EventStore } from "@tollgate/eventstore";
import type { Redis } from "ioredis";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { GatewayConfigInput } from "./config/gateway-config.js";
import { ControlPlaneFollower } from "./identity/control-plane-follower.js";
import { IdentityIndex } from "./identity/identity-index.js";
import { connectSharedRedis, deleteKeys, sharedRedisUrl, uniquePrefix } from "./policies/rate-limit/test-support/shared-redis.js";
import { ControlPlaneFixture } from "./test-support/control-plane-fixture.js";
import { startGateway, type TestGateway } from "./test-support/start-gateway.js";
import { startUpstream, type TestUpstream } from "./test-support/upstream-server.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const actor = { kind: "admin", id: "ops" } as const;

/** The event POST /admin/cache/purge appends. */
function purgeRequested(purgeId: string, filter: CachePurgeFilter): CachePurgeRequested {
  return { type: "CachePurgeRequested", version: 1, data: { purgeId, ...filter, requestedAt: "2026-11-26T10:00:00.000Z", actor } };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** An upstream answering `response <n>` (numbered by request), cacheable for a minute. */
async function countingUpstream(): Promise<TestUpstream> {
  let n = 0;
  const upstream = await startUpstream((_req, res) => {
    const text = `response ${++n}`;
    res.writeHead(200, { "content-type": "text/plain", "content-length": String(Buffer.byteLength(text)), "cache-control": "max-age=60" });
    res.end(text);
  });
  cleanups.push(() => upstream.close());
  return upstream;
}

async function gatewayOver(origin: string, identity: IdentityIndex | undefined, options: { cache?: boolean; extra?: Partial<GatewayConfigInput> } = {}): Promise<TestGateway> {
  const gw = await startGateway({
    ...(identity === undefined ? {} : { identity }),
    config: {
      upstreams: { api: { targets: [origin] } },
      routes: [
        { id: "api", match: { pathPrefix: "/api" }, upstream: "api", ...(options.cache === false ? {} : { cache: {} }) },
        { id: "docs", match: { pathPrefix: "/docs" }, upstream: "api", ...(options.cache === false ? {} : { cache: {} }) },
      ],
      ...options.extra,
    },
  });
  cleanups.push(() => gw.close());
  return gw;
}

async function xCache(url: string): Promise<string | undefined> {
  const res = await request(url);
  await res.body.dump();
  return res.headers["x-cache"] as string | undefined;
}

function purgeLogs(gw: TestGateway): Record<string, unknown>[] {
  return gw.log.lines().filter((line) => String(line.msg).startsWith("cache purge"));
}

describe("cache purge requested through the control plane", () => {
  it("purges the route it names when the event reaches the index: the next request is a MISS, other routes keep their entries", async () => {
    const upstream = await countingUpstream();
    const fixture = new ControlPlaneFixture();
    const gw = await gatewayOver(upstream.origin, fixture.index);

    expect(await xCache(`${gw.url}/api/a`)).toBe("MISS");
    expect(await xCache(`${gw.url}/docs/a`)).toBe("MISS");
    expect(await xCache(`${gw.url}/api/a`)).toBe("HIT");

    fixture.record(streams.cachePurge("purge_1"), purgeRequested("purge_1", { routeId: "api" }));
    await waitFor("the purge to be applied", () => purgeLogs(gw).length === 1);
    expect(purgeLogs(gw)[0]).toMatchObject({ level: "info", msg: "cache purge applied", purgeId: "purge_1", removed: 1 });
    expect(await xCache(`${gw.url}/api/a`)).toBe("MISS");
    expect(await xCache(`${gw.url}/docs/a`)).toBe("HIT");

    fixture.record(streams.cachePurge("purge_2"), purgeRequested("purge_2", { keyPrefix: "127.0.0.1/docs/" }));
    await waitFor("the second purge to be applied", () => purgeLogs(gw).length === 2);
    expect(purgeLogs(gw)[1]).toMatchObject({ purgeId: "purge_2", removed: 1 });
    expect(await xCache(`${gw.url}/docs/a`)).toBe("MISS");
    expect(await xCache(`${gw.url}/api/a`)).toBe("HIT");
    expect(upstream.requests).toHaveLength(4);
  });

  it("a gateway without a cache ignores purges", async () => {
    const upstream = await countingUpstream();
    const fixture = new ControlPlaneFixture();
    const gw = await gatewayOver(upstream.origin, fixture.index, { cache: false });
    fixture.record(streams.cachePurge("purge_1"), purgeRequested("purge_1", { routeId: "api" }));
    const res = await request(`${gw.url}/api/a`);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(purgeLogs(gw)).toEqual([]);
    expect(gw.log.lines().filter((line) => line.level === "error")).toEqual([]);
  });

  it("a purge appended before the gateway caught up with the log is not applied; one appended after is, on the shared Redis cache", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-cache-purge-"));
    const store: EventStore = SqliteEventStore.open({ file: join(dir, "events.db"), synchronous: "normal", busyTimeoutMs: 1_000 });
    cleanups.push(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const keyPrefix = uniquePrefix("cache-purge");
    const redis: Redis = await connectSharedRedis();
    cleanups.push(async () => {
      await deleteKeys(redis, keyPrefix);
      redis.disconnect();
    });
    const extra: Partial<GatewayConfigInput> = { cache: { store: "redis", keyPrefix, redis: { url: sharedRedisUrl, timeoutMs: 2_000 } } };
    const upstream = await countingUpstream();
    let eventIds = 0;
    const append = (event: ControlEvent & { type: "CachePurgeRequested" }) =>
      store.append(streams.cachePurge(event.data.purgeId), [{ id: `event-${++eventIds}`, type: event.type, version: event.version, data: event.data }]);

    // A purge recorded while no gateway ran; then a gateway fills the shared cache.
    await append(purgeRequested("purge_old", { routeId: "api" }));
    const first = await gatewayOver(upstream.origin, undefined, { extra });
    expect(await xCache(`${first.url}/api/a`)).toBe("MISS");
    // The store is written without waiting; the entry shows up in Redis shortly after the response.
    await waitFor("the entry in Redis", async () => (await redis.keys(`${keyPrefix}*`)).length === 1);

    // A second gateway starts as main.ts starts it: the follower catches up, then the server is built.
    const identity = new IdentityIndex();
    const follower = new ControlPlaneFollower({ store, index: identity, pollIntervalMs: 5 });
    cleanups.push(() => follower.stop());
    await follower.start();
    expect(identity.version).not.toBe("0");
    const second = await gatewayOver(upstream.origin, identity, { extra });
    expect(await xCache(`${second.url}/api/a`)).toBe("HIT");
    expect(await xCache(`${first.url}/api/a`)).toBe("HIT");
    expect(purgeLogs(second)).toEqual([]);

    await append(purgeRequested("purge_new", { routeId: "api" }));
    await waitFor("the new purge to be applied", () => purgeLogs(second).length === 1);
    expect(purgeLogs(second)[0]).toMatchObject({ msg: "cache purge applied", purgeId: "purge_new", removed: 1 });
    expect(await redis.keys(`${keyPrefix}*`)).toEqual([]);
    expect(await xCache(`${first.url}/api/a`)).toBe("MISS");
    expect(upstream.requests).toHaveLength(2);
  });
});

describe("IdentityIndex.followCachePurges", () => {
  it("hands over only purges applied once the index is ready, keeping those applied before anyone followed, each once", () => {
    const index = new IdentityIndex();
    index.apply(purgeRequested("during-catch-up", { routeId: "api" }), 1n);
    index.markReady();
    index.apply(purgeRequested("before-listener", { routeId: "api" }), 2n);
    const seen: string[] = [];
    const stop = index.followCachePurges((purge) => seen.push(purge.purgeId));
    expect(seen).toEqual(["before-listener"]);
    index.apply(purgeRequested("live", { keyPrefix: "127.0.0.1/api/" }), 3n);
    index.apply(purgeRequested("live", { keyPrefix: "127.0.0.1/api/" }), 3n);
    expect(seen).toEqual(["before-listener", "live"]);
    stop();
    index.apply(purgeRequested("after-stop", { routeId: "api" }), 4n);
    expect(seen).toEqual(["before-listener", "live"]);
    expect(index.version).toBe("4");
  });
});
