import { parseConfig } from "@tollgate/config";
import { afterEach, describe, expect, it } from "vitest";
import type { z } from "zod";
import { UpstreamConfig } from "../config/gateway-config.js";
import { captureLogger } from "../test-support/fakes.js";
import { startUpstream, type TestUpstream } from "../test-support/upstream-server.js";
import { closeUpstreams, createUpstreams, type BalancedRequest, type Upstream } from "./upstream.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const anonymous: BalancedRequest = { consumerId: null, clientIp: "127.0.0.1", headers: [] };

function upstreamOf(input: z.input<typeof UpstreamConfig>): Upstream {
  const config = parseConfig(UpstreamConfig, input, "test upstream");
  const upstream = createUpstreams({ api: config }, captureLogger().logger).get("api") as Upstream;
  cleanups.push(() => closeUpstreams([upstream], true));
  return upstream;
}

async function started(handler?: Parameters<typeof startUpstream>[0]): Promise<TestUpstream> {
  const server = await startUpstream(handler);
  cleanups.push(() => server.close());
  return server;
}

function split(upstream: Upstream, picks: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let index = 0; index < picks; index++) {
    const origin = upstream.pick(anonymous, Date.now())?.origin ?? "none";
    counts[origin] = (counts[origin] ?? 0) + 1;
  }
  return counts;
}

describe("Upstream.replaceTargets", () => {
  it("keeps the object (pool, health, ejection and breaker state) of a target whose origin stays, with its new weight", () => {
    const upstream = upstreamOf({
      targets: ["http://127.0.0.1:9001", "http://127.0.0.1:9002"],
      circuitBreaker: { enabled: true },
      healthChecks: { passive: { consecutiveFailures: 1, ejectionMs: 60_000 } },
    });
    const [kept, dropped] = upstream.targets;
    const keptPool = kept!.pool;
    const keptBreaker = kept!.breaker;
    const now = Date.now();
    upstream.report(kept!, "failure", now);
    expect(kept!.ejections).toBe(1);
    kept!.probedHealthy = false;

    const result = upstream.replaceTargets([
      { url: "http://127.0.0.1:9001/", weight: 5 },
      { url: "http://127.0.0.1:9003", weight: 2 },
    ]);

    expect(result).toMatchObject({ kept: ["http://127.0.0.1:9001"], added: ["http://127.0.0.1:9003"], removed: ["http://127.0.0.1:9002"] });
    expect(upstream.targets.map((target) => target.origin)).toEqual(["http://127.0.0.1:9001", "http://127.0.0.1:9003"]);
    expect(upstream.targets[0]).toBe(kept);
    expect(kept!.pool).toBe(keptPool);
    expect(kept!.breaker).toBe(keptBreaker);
    expect(kept!.weight).toBe(5);
    expect(kept!.ejections).toBe(1);
    expect(kept!.ejectedUntil).toBeGreaterThan(now);
    expect(kept!.probedHealthy).toBe(false);
    const added = upstream.targets[1]!;
    expect(added.pool).not.toBe(dropped!.pool);
    expect(added.breaker).not.toBeNull();
    expect(added.weight).toBe(2);
    // The kept target is still out (ejected, unhealthy), the removed one is gone: only the new one is picked.
    expect(split(upstream, 10)).toEqual({ "http://127.0.0.1:9003": 10 });
    expect(upstream.health(Date.now()).map((target) => target.origin)).toEqual(["http://127.0.0.1:9001", "http://127.0.0.1:9003"]);
  });

  it("closes a removed target's pool only after its request in flight has completed, and never picks it again", async () => {
    let release: () => void = () => undefined;
    const slow = await started((_req, res) => {
      release = () => res.end("slow done");
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("slow ");
    });
    const fresh = await started();
    const upstream = upstreamOf({ targets: [slow.origin] });
    const removed = upstream.targets[0]!;

    const response = await removed.pool.request({ path: "/long", method: "GET" });
    expect(response.statusCode).toBe(200);
    const { retired } = upstream.replaceTargets([{ url: fresh.origin, weight: 1 }]);
    let retiredYet = false;
    void retired.then(() => (retiredYet = true));
    expect(upstream.retiring).toEqual([removed]);
    expect(split(upstream, 5)).toEqual({ [fresh.origin]: 5 });

    await new Promise((resolve) => setImmediate(resolve));
    expect(retiredYet).toBe(false);
    expect(removed.pool.closed).toBe(true);
    expect(removed.pool.destroyed).toBe(false);

    const body = response.body.text();
    release();
    expect(await body).toBe("slow slow done");
    await retired;
    expect(upstream.retiring).toEqual([]);
    expect(removed.pool.destroyed).toBe(true);
    expect(slow.requests).toHaveLength(1);
  });

  it("splits by the new weights after a replacement, and a consistent-hash ring is rebuilt with minimal remapping", () => {
    const weighted = upstreamOf({
      targets: [
        { url: "http://127.0.0.1:9001", weight: 1 },
        { url: "http://127.0.0.1:9002", weight: 1 },
      ],
      balancing: { algorithm: "weighted-round-robin" },
    });
    expect(split(weighted, 400)).toEqual({ "http://127.0.0.1:9001": 200, "http://127.0.0.1:9002": 200 });
    weighted.replaceTargets([
      { url: "http://127.0.0.1:9001", weight: 1 },
      { url: "http://127.0.0.1:9002", weight: 3 },
    ]);
    expect(split(weighted, 400)).toEqual({ "http://127.0.0.1:9001": 100, "http://127.0.0.1:9002": 300 });

    const hashed = upstreamOf({
      targets: ["http://127.0.0.1:9001", "http://127.0.0.1:9002", "http://127.0.0.1:9003"],
      balancing: { algorithm: "consistent-hash", hashOn: "consumer" },
    });
    const keyed = (consumerId: string): BalancedRequest => ({ consumerId, clientIp: "127.0.0.1", headers: [] });
    const consumers = Array.from({ length: 300 }, (_, index) => `consumer-${index}`);
    const before = new Map(consumers.map((id) => [id, hashed.pick(keyed(id), Date.now())?.origin]));
    hashed.replaceTargets([{ url: "http://127.0.0.1:9001", weight: 1 }, { url: "http://127.0.0.1:9003", weight: 1 }]);
    for (const id of consumers) {
      const after = hashed.pick(keyed(id), Date.now())?.origin;
      if (before.get(id) === "http://127.0.0.1:9002") expect(after).not.toBe("http://127.0.0.1:9002");
      else expect(after).toBe(before.get(id));
    }
  });
});
